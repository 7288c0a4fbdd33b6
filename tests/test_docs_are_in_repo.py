"""A clone needs nothing outside it: every doc the code and docs cite lives in the repo.

The facts the runtime relies on (wire protocol, validator defences) are written in docs/;
a reference to a document outside the repository (the research notes this project
started from) would leave a newcomer with a dangling citation.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from sparket_local_services.paths import repo_root

ROOT = repo_root()
OUTSIDE_DOCS = re.compile(
    r"\.\./shared|validator-defences\.md|sparket-protocol\.md|style\.md|test-cluster\.md"
)
DOC_REFERENCE = re.compile(r"\bdocs/([A-Za-z0-9_.-]+\.(?:md|json))")


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    files = []
    for name in listed:
        path = ROOT / name
        if name == "uv.lock" or not path.is_file():
            continue
        try:
            path.read_text()
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


def test_no_tracked_file_cites_a_document_outside_the_repo() -> None:
    citing = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in tracked_text_files()
        if path.name != Path(__file__).name
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if OUTSIDE_DOCS.search(line)
    ]
    assert citing == []


def test_every_cited_doc_exists() -> None:
    missing = sorted(
        {
            f"docs/{name} (cited in {path.relative_to(ROOT)})"
            for path in tracked_text_files()
            if path.name != Path(__file__).name
            for name in DOC_REFERENCE.findall(path.read_text())
            if not (ROOT / "docs" / name).exists()
        }
    )
    assert missing == []


def test_the_citation_check_sees_an_outside_reference() -> None:
    assert OUTSIDE_DOCS.search("rules (validator-defences.md §3)")
    assert OUTSIDE_DOCS.search("see ../shared/docs/test-cluster.md")
    assert not OUTSIDE_DOCS.search("rules (docs/validator-facts.md)")
