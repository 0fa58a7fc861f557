"""The starter FAQ entries (data/starter_faq.json), loaded by migrations 0002/0003 and by `manage.py chat_train
--starter-faq` (recreating any that were deleted)."""
from __future__ import annotations

import json
from pathlib import Path

STARTER = Path(__file__).resolve().parent / "data" / "starter_faq.json"


def starter_rows() -> list[dict]:
    return json.loads(STARTER.read_text(encoding="utf-8"))


def load_starter_faq(FaqEntry) -> int:
    """Create the starter entries that do not exist (by slug); managers' edits are never overwritten. `FaqEntry`
    may be a migration's historical model (one without the `page` field gets none)."""
    has_page = any(f.name == "page" for f in FaqEntry._meta.get_fields())
    created = 0
    for k, row in enumerate(starter_rows()):
        defaults = {"question": row["question"], "answer": row["answer"], "examples": "\n".join(row["examples"]),
                    "position": k * 10}
        if has_page:
            defaults["page"] = row.get("page", "")
        _, new = FaqEntry.objects.get_or_create(slug=row["slug"], defaults=defaults)
        created += new
    return created
