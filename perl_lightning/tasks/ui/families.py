"""Seeded synthetic app families for the UI-automation task: builders of apps, goals and gold trajectories.

Families (each a builder ``random.Random -> episode``; labels, synonyms, values, distractors, order and titles vary):

- ``login_form``: email or username + password, maybe "Remember me", social-login and recovery distractors.
- ``signup_form``: name, email, password (some pre-filled), a terms checkbox, a "Create account" button.
- ``settings_toggles``: 4-9 look-alike switches / checkboxes, sometimes a "Display" sub-screen.
- ``search_results``: type a query and open a result, or a long list (a 480 px screen) that needs ``scroll(down)``.
- ``dialog_confirm``: a modal ``dialog`` (behind it everything is disabled) to confirm or dismiss.
- ``shopping_cart``: per-item quantity dropdowns and "Remove" buttons, checkout, place the order.
- ``email_inbox``: messages as rows with their own folder dropdown and "Archive" / "Delete" buttons (the per-row
  controls of ``shopping_cart``, in another app), then maybe compose a message.
- ``navigation_bar``: a tab bar on every tab screen, list items opening sub-screens.
- ``profile_edit``: text fields and "Language" / "Country" dropdowns, a "Save" button.

Each gold trajectory is 1-4 actions and a final ``done()``. :data:`HELD_OUT_FAMILIES` (``signup_form``,
``shopping_cart``) appear only in the test split, to measure generalisation to unseen app families.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from perl_lightning.tasks.ui.forms import login_form, profile_edit, settings_toggles, signup_form
from perl_lightning.tasks.ui.layout import family
from perl_lightning.tasks.ui.lists import dialog_confirm, email_inbox, navigation_bar, search_results, shopping_cart

FAMILIES: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "login_form": family("login_form", login_form),
    "signup_form": family("signup_form", signup_form),
    "settings_toggles": family("settings_toggles", settings_toggles),
    "search_results": family("search_results", search_results),
    "dialog_confirm": family("dialog_confirm", dialog_confirm),
    "shopping_cart": family("shopping_cart", shopping_cart),
    "navigation_bar": family("navigation_bar", navigation_bar),
    "profile_edit": family("profile_edit", profile_edit),
    "email_inbox": family("email_inbox", email_inbox),
}

TRAIN_FAMILIES: tuple[str, ...] = tuple(f for f in FAMILIES if f not in ("signup_form", "shopping_cart"))
HELD_OUT_FAMILIES: tuple[str, ...] = ("signup_form", "shopping_cart")
