"""A shared check for importer tests: a bad file is refused by `nsi import` with one located error, nothing stored."""

from __future__ import annotations

from cli import cli


def assert_refused(runner, store, path, options, message, catalog="t") -> str:
    """Run `nsi import path` with `options`; assert exit 1, an error line containing `message`, and no version.

    The catalog `catalog` must exist or be created by the profile; in both cases
    it must hold no version afterwards. Returns the error line.
    """
    existed = store.has_catalog(catalog)
    result = runner.invoke(cli, ["import", str(path), "--catalog", catalog, "--version", "1", *options])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"Error: import rejected: {path}"), lines[0]
    assert message in lines[0], lines[0]
    assert lines[-1] == "Nothing was stored."
    if existed:
        assert store.list_versions(catalog) == []
    else:
        assert not store.has_catalog(catalog)
    return lines[0]
