"""`make ui-check`: what an annotator sees, proven by a browser.

Runs a two-round `dataprep demo --studio` (round 2 pushes tasks carrying the
model's pre-annotation), then a headless Chromium (the Debian package, driven by
Playwright) logs in through the login form, opens the labeling page of one
round-2 image task and saves a screenshot. It fails, naming what is missing,
unless the image was served (HTTP 200) and rendered, and the model's guess is
shown pre-selected. Then it starts `dataprep serve`, connects it, imports a task
outside the loop (an image in a storage of its own) and checks, the same way, that
the backend's prediction is pre-selected on it. Then it opens the HTML report and checks that the
confusion matrix and the issues table render (and sort), every sample picture
with its id beside it, and saves `reports/ui-check-report.png`.

    python -m dataprep.demo.ui_check [--out reports/ui-check.png] [--dir ui-check-project]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

from dataprep.core.errors import UserError

BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise UserError("no Chromium found: install the Debian package (`apt-get install -y chromium`)")


def pick_task(ls, pid: int) -> tuple[int, str, str]:
    """An unanswered task with a model pre-annotation: (task id, predicted class, image URL path)."""
    from dataprep.demo.studio_sim import unanswered

    todo = unanswered(ls, pid).dropna(subset=["prediction"])
    if todo.empty:
        raise UserError(f"project {pid} has no unanswered task with a pre-annotation: did round 2 push?")
    task_id = int(todo["task_id"].iloc[0])
    return task_id, str(todo["prediction"].iloc[0]), ls.tasks.get(id=task_id).data["image"]


def screenshot(url: str, email: str, password: str, pid: int, task_id: int, expect: str, image: str, out: Path,
               timeout_s: float = 60) -> dict[str, Any]:
    """Log in, open the task in the labeling editor, check its image and pre-annotation, take the picture."""
    from playwright.sync_api import sync_playwright

    served: list[tuple[str, int]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), headless=True, args=BROWSER_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(timeout_s * 1000)
            page.on("response", lambda r: served.append((r.url, r.status)) if "/data/local-files/" in r.url else None)
            page.goto(f"{url}/user/login/")
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url(lambda u: "/user/login" not in u)
            page.goto(f"{url}/projects/{pid}/data?task={task_id}")
            img = page.locator(".lsf-main-view img[alt=image]").first      # the editor's image, not a thumbnail
            img.wait_for(state="attached")
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
            page.wait_for_selector("label:has(input:checked)")
            checked = page.eval_on_selector_all(
                "label:has(input:checked)", "els => els.map(e => e.innerText.replace(/\\[.*?\\]/g, '').trim())")
            time.sleep(0.5)                     # let the last layout pass settle before the picture
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
        finally:
            browser.close()
    ok_images = [u for u, s in served if s == 200 and u.endswith(image)]
    if not ok_images:
        raise UserError(f"the task's image {image} was not served with HTTP 200 (saw {served[:5]}); "
                        "check LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT and the project's local storage")
    if expect not in checked:
        raise UserError(f"the pre-annotation {expect!r} is not shown selected on task {task_id} (selected: {checked}); see {out}")
    return {"screenshot": str(out), "task_id": task_id, "pre_annotation": expect, "images_served": len(ok_images)}


def report_check(report: Path, out: Path, timeout_s: float = 60) -> dict[str, Any]:
    """Open the HTML report in Chromium, check that the confusion matrix (a decoded plot) and the
    per-class and issues tables render with rows, that a click sorts the issues table, and that
    every sample picture has its id beside it; save a full-page screenshot."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), headless=True, args=BROWSER_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(timeout_s * 1000)
            page.goto(report.resolve().as_uri())
            cm = page.locator("img.plot[alt='confusion matrix']")
            if cm.count() != 1:
                raise UserError(f"{report}: no confusion matrix plot")
            if not page.evaluate("i => i.complete && i.naturalWidth > 100", cm.element_handle()):
                raise UserError(f"{report}: the confusion matrix image does not decode")
            counts = {}
            for tid in ("per-class", "issues-table"):
                rows = page.locator(f"table#{tid} tbody tr")
                if not page.locator(f"table#{tid}").is_visible() or rows.count() == 0:
                    raise UserError(f"{report}: table #{tid} is missing, hidden or empty")
                counts[tid] = rows.count()
            score = page.locator("table#issues-table th", has_text="score")
            score.click()
            first = page.eval_on_selector_all("table#issues-table tbody tr td:nth-child(4)",
                                              "tds => tds.map(t => parseFloat(t.innerText)).filter(v => !isNaN(v))")
            if first != sorted(first):
                raise UserError(f"{report}: a click on 'score' did not sort the issues table")
            bare = page.evaluate("""() => Array.from(document.querySelectorAll('img:not(.plot)'))
                                     .filter(i => !i.closest('.g') || !i.closest('.g').querySelector('code.sid')).length""")
            if bare:
                raise UserError(f"{report}: {bare} sample picture(s) without an id beside them")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()
    return {"report_screenshot": str(out), "per_class_rows": counts["per-class"], "issues_rows": counts["issues-table"]}


def outside_task(project, ls, pid: int) -> tuple[int, str, str, Any]:
    """Start `dataprep serve`, connect it, import a task the loop never pushed (an image in a
    storage of its own) and return (task id, the served model's class for it, image URL path,
    the backend process). What the browser must then show pre-selected."""
    import shutil as sh

    from dataprep.core import model_store, store
    from dataprep.core.features import new_sample_features
    from labeling.ml_backend.connect import connect
    from dataprep.demo.serve_process import ServeProcess
    from labeling.studio_server import free_port

    proc = ServeProcess(project.root, free_port()).start()
    connect(project, proc.url)
    stored = model_store.load(project)
    if stored is None:
        raise UserError("no stored model after two rounds: select did not train one")
    man = store.read_table(project.data, "manifest")
    src = project.data / man.loc[man["split"] == "test", "path"].iloc[0] if (man["split"] == "test").any() \
        else project.data / man["path"].iloc[-1]
    folder = project.data / "outside"
    folder.mkdir(exist_ok=True)
    sh.copy(src, folder / "outside.png")
    ls.import_storage.local.create(project=pid, path=str(folder.resolve()), title="imported by someone else")
    image = "/data/local-files/?d=outside/outside.png"
    task = ls.tasks.create(project=pid, data={"image": image})
    proba = stored.model.predict_proba(new_sample_features(project, "image", [str(folder / "outside.png")]))[0]
    return int(task.id), stored.classes[int(proba.argmax())], image, proc


def ui_check(folder: Path, out: Path) -> dict[str, Any]:
    from dataprep.demo.run import run_demo
    from dataprep.core.project import open_project
    from labeling.studio_backend import find_project
    from labeling.studio_client import client
    from labeling.studio_server import credentials, stop, studio_dir

    chromium()                                    # fail before two rounds of work, not after
    run_demo(folder, rounds=2, studio=True, answer_last=False)   # round 2's tasks wait for a person
    project = open_project(folder / "params.yaml")
    try:
        ls, url = client(project)
        proj = find_project(ls, project.cfg.label.project_title)
        task_id, expect, image = pick_task(ls, proj.id)
        creds = credentials(studio_dir(project))
        info = screenshot(url, creds["username"], creds["password"], proj.id, task_id, expect, image, out)
        info |= report_check(project.reports / "report.html", out.with_name(out.stem + "-report.png"))
        o_id, o_expect, o_image, backend = outside_task(project, ls, proj.id)
        try:
            o = screenshot(url, creds["username"], creds["password"], proj.id, o_id, o_expect, o_image,
                           out.with_name(out.stem + "-backend.png"))
        finally:
            backend.stop()                   # the `dataprep serve` started above
        return info | {"backend_task_id": o_id, "backend_prediction": o_expect, "backend_screenshot": o["screenshot"]}
    finally:
        stop(project)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("reports/ui-check.png"))
    ap.add_argument("--dir", type=Path, default=Path("ui-check-project"))
    a = ap.parse_args()
    try:
        info = ui_check(a.dir, a.out.resolve())
    except UserError as exc:
        raise SystemExit(f"ui-check failed: {exc}") from None
    print(f"ui-check: task {info['task_id']} shows the image and the pre-annotation {info['pre_annotation']!r}; "
          f"screenshot: {info['screenshot']}")
    print(f"ui-check: task {info['backend_task_id']}, imported outside the loop, shows the ML backend's prediction "
          f"{info['backend_prediction']!r} pre-selected; screenshot: {info['backend_screenshot']}")
    print(f"ui-check: the report renders its confusion matrix, {info['per_class_rows']} per-class rows and "
          f"{info['issues_rows']} sortable issue rows, every sample with its id; screenshot: {info['report_screenshot']}")


if __name__ == "__main__":
    main()
