"""Uploads: a file becomes a background import job; the job resource reports its progress and outcome."""

from __future__ import annotations

import shutil

from flask import Blueprint, current_app, url_for
from werkzeug.utils import secure_filename

from registry import jobs
from registry.errors import AlreadyExists, BadRequest, NotFound
from registry.web.bodies import form, safe_file_name
from registry.web.common import API, current_token, json_response, needs, store
from registry.web.request_models import UploadForm
from registry.web import response_models as R
from registry.web.responses import responds

bp = Blueprint("imports", __name__, url_prefix=API)


def job_json(job: dict) -> dict:
    """A job with links to itself and, once staged, to its draft."""
    job = dict(job)
    job["progress"] = {"rows": job.pop("rows")}
    job["links"] = {"self": url_for("imports.get_job", job_id=job["id"])}
    report = job.get("report") or {}
    if job["status"] == "succeeded" and report.get("status") in ("staged", "published"):
        job["links"]["draft"] = url_for("versions.get_version", slug=job["catalog"], version=job["version"])
        job["links"]["publish"] = url_for("versions.publish", slug=job["catalog"], version=job["version"])
    return job


def checked_format_and_profile(fmt: str | None, profile: str | None):
    """The upload's format and its profile (loaded, or None), refused (400) before any job exists unless known.

    Over the API a profile is only the name of one shipped in the catalogs
    directory, never a path on the server; the format is one the importers know.
    """
    from importers.pipeline import FORMATS
    from importers.profile import available_profiles, load_profile
    known = sorted(name for name, module in FORMATS.items() if not hasattr(module, "register"))
    if fmt is not None and fmt in FORMATS and fmt not in known:
        raise BadRequest(f"format {fmt} registers a FHIR resource, not a version of a catalog: register it with "
                         f"`nsi import FILE --format {fmt}`", details={"field": "format", "known": known})
    if fmt is not None and fmt not in FORMATS:
        raise BadRequest(f"unknown format {fmt!r}; known formats: {', '.join(known)}",
                         details={"field": "format", "known": known})
    if profile is not None:
        known = available_profiles()
        if profile not in known:
            raise BadRequest(f"unknown profile {profile!r}; known profiles: {', '.join(known) or 'none'}",
                             details={"field": "profile", "known": known})
        return fmt, load_profile(profile)  # a shipped profile that does not parse is a 400 now, not a failed job
    return fmt, None


def describes_itself(fmt: str | None) -> bool:
    """Whether files of format `fmt` say what catalog they are (ClaML, FHIR CodeSystem), so one can be created."""
    from importers.pipeline import FORMATS
    return fmt is not None and hasattr(FORMATS.get(fmt), "catalog_defaults")


@bp.post("/catalogs/<slug>/imports")
@responds(R.Job, 202, location="URL of the import job")
@needs("import")
@form(UploadForm, side_files="with")
def upload(slug: str, form: UploadForm, upload, sides: dict):
    """Accept a multipart upload (file, version, format or profile, side files) and import it in the background.

    Answers 202 + Location of the job. The side files a profile's `[[with]]` tables join to the main file come as
    file parts `with.NAME`; they wait beside the upload for the job, which runs `run_import` as `nsi import --with`.
    """
    token = current_token()
    s = store()
    version = form.version.strip()
    if not version:
        raise BadRequest("the upload needs a version label: form field `version`")
    fmt, prof = checked_format_and_profile(form.format, form.profile)
    profile = form.profile if prof is not None else None
    if sides and (prof is None or not prof.side_files):
        parts = ", ".join(f"with.{name}" for name in sides)
        raise BadRequest(f"file part(s) {parts}: side files need a profile that declares them ([[with]] tables); "
                         f"{f'profile {prof.name} declares none' if prof else 'the upload names no profile'}",
                         details={"field": f"with.{next(iter(sides))}"})
    if not s.has_catalog(slug) and not profile and not describes_itself(fmt):
        raise NotFound(f"no catalog {slug!r}; create it first (POST /api/v1/catalogs) or give a profile")
    if s.has_catalog(slug):
        try:
            s.resolve(slug, version)
        except NotFound:
            pass
        else:
            raise AlreadyExists(f"catalog {slug} already has a version {version!r}")
    job_id = jobs.new_job_id()
    name = secure_filename(upload.filename) or "upload"
    path = jobs.upload_dir(s, job_id) / name
    upload.save(path)
    if prof is not None and prof.side_files:
        from importers.side_files import side_sources
        saved = {}
        try:  # a side file the profile does not declare, one it needs and the upload lacks, an empty one: 400
            for side_name, part in sides.items():
                saved[side_name] = jobs.side_file_path(s, job_id, side_name, safe_file_name(part.filename, "side"))
                part.save(saved[side_name])
                if saved[side_name].stat().st_size == 0:
                    raise BadRequest(f"file part with.{side_name}: the file {saved[side_name].name} is empty",
                                     details={"field": f"with.{side_name}"})
            side_sources(prof, path, saved, uploaded=True)
        except BaseException:
            shutil.rmtree(path.parent, ignore_errors=True)  # no job: nothing of the upload stays
            raise
    job = jobs.create_job(s, job_id, catalog=slug, version=version, upload_path=path, source_name=upload.filename,
                          format=fmt, profile=profile, created_by=token.name)
    if current_app.config.get("NSI_RUN_JOBS", True):
        jobs.start_job(s, job_id)
    response = json_response(job_json(job), 202)
    response.headers["Location"] = url_for("imports.get_job", job_id=job_id)
    return response


@bp.get("/jobs/<job_id>")
@responds(R.Job)
@needs("read_drafts")
def get_job(job_id: str):
    """An import job: status, rows read so far, the report or the error, and a link to the draft."""
    return json_response(job_json(jobs.get_job(store(), job_id)))
