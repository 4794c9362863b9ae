"""Fixtures shared by the module tests."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def ratings_file(tmp_path):
    """A learnable pointwise label: helpful answers are liked, the two brush-offs disliked (one in four)."""
    rows = []
    for i in range(48):
        liked = i % 4 != 3
        response = f"Here is a clear answer about thing {i}." if liked else ("Go away." if i % 8 == 3 else "No.")
        rows.append({"prompt": f"Question {i}: how do I do thing {i}?", "response": response, "label": float(liked)})
    path = tmp_path / "ratings.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path
