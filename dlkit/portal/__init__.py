"""The course portal: students upload and get their feedback; instructors watch, mark, export.

    dlkit serve --course PATH [--host 127.0.0.1] [--port 8000]

One ASGI application (Starlette, served by uvicorn) over the course folder and gradebook that
the command line uses; pages come from the reports' Jinja environment. Its parts:

    app.py         routes (thin: parse, call the API, render), sessions, CSRF, CSP, limits
    pages.py       what each page shows, gathered from the gradebook and the course folder
    cells.py       student notebooks as sanitised HTML (every notebook is hostile)
    auth.py        access codes and the instructor password (argon2), login throttling
    codes.py       `dlkit roster codes`: issue codes, print slips, write the mail-merge CSV
    config.py      settings, the schedule of open experiments (portal.yml), <course>/portal/
    supervisor.py  the server's grading workers: started, watched, restarted, stopped
    worker.py      one worker: takes queued submissions and grades them with the engine
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from dlkit.portal.config import Settings

__all__ = ["Settings", "serve", "tracked_by_git"]


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the portal until interrupted (Ctrl-C or SIGTERM stop the workers too and put what
    they were grading back in the queue)."""
    import uvicorn

    from dlkit.portal.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=False,
                server_header=False, log_level="info", timeout_graceful_shutdown=5)


def tracked_by_git(path: Path) -> bool:
    """True when ``path`` lies in a git work tree and is not ignored there: a secret written
    there could be committed."""
    folder = path.parent if not path.is_dir() else path
    while not folder.exists():
        folder = folder.parent
    try:
        inside = subprocess.run(["git", "-C", str(folder), "rev-parse", "--is-inside-work-tree"],
                                capture_output=True, text=True, timeout=20)
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return False
        ignored = subprocess.run(["git", "-C", str(folder), "check-ignore", "-q", str(path)],
                                 capture_output=True, timeout=20)
        return ignored.returncode != 0
    except (OSError, subprocess.TimeoutExpired):
        return False
