"""Form-like UI app families: ``login_form``, ``signup_form``, ``settings_toggles`` and ``profile_edit``."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from perl_lightning.tasks.ui.actions import Action
from perl_lightning.tasks.ui.layout import App, Built, Spec, click, on, password, person, say
from perl_lightning.tasks.ui.phrases import CITIES, DISPLAY, FIRST, LABELS, OPTIONS, TOGGLES, WORDS


def login_form(rng: random.Random, app: App) -> Built:
    s = app.screen("login", rng.choice(("Log in", "Sign in", "Welcome back")))
    by_email = rng.random() < 0.7
    user = person(rng)[1] if by_email else f"{rng.choice(FIRST)}{rng.randint(1, 99)}"
    pw, prefilled, remember = password(rng), rng.random() < 0.3, rng.random() < 0.35
    label = rng.choice(("Email", "Email address", "E-mail") if by_email else ("Username", "User name"))
    remember_label = rng.choice(("Remember me", "Keep me signed in"))
    core: list[Spec] = [("user", "text_field", label, {"state": {"value": user}} if prefilled else {}),
                        ("pw", "text_field", rng.choice(("Password", "Your password")), {}),
                        ("go", "button", rng.choice(("Log in", "Sign in", "Continue")), {"opens": "home"})]  # fmt: skip
    if remember:
        core.insert(2, ("remember", "checkbox", remember_label, {"state": {"checked": False}}))
    extras: list[Spec] = [("google", "button", "Log in with Google", {}), ("forgot", "link", "Forgot password?", {}),
                          ("new", "link", "Create account", {}), ("apple", "button", "Sign in with Apple", {}),
                          ("error", "text", "Incorrect password", {"state": {"visible": False}})]  # fmt: skip
    els = app.place(rng, s, core, extras, 4)
    app.add(app.screen("home", rng.choice(("Home", "Dashboard", "Feed"))), "text", "You are signed in")
    actions = [] if prefilled else [Action("type", els["user"]["id"], user)]
    actions += [Action("type", els["pw"]["id"], pw)] + ([click(els["remember"])] if remember else [])
    actions.append(click(els["go"]))
    conditions = [on(s, els["user"], value=user), on(s, els["pw"], value=pw), {"current": "home"}]
    conditions += [on(s, els["remember"], checked=True)] if remember else []
    clauses = [say(rng, "login", user=user, pw=pw)] + ([say(rng, "check", x=remember_label)] if remember else [])
    return clauses, conditions, actions


def signup_form(rng: random.Random, app: App) -> Built:
    s = app.screen("signup", rng.choice(("Sign up", "Create your account", "Join us")))
    (name, email), pw = person(rng), password(rng)
    values = {"name": name, "email": email, "pw": pw}
    to_type = set(rng.sample(list(values), rng.randint(0, 2)))
    terms = rng.choice(("I agree to the terms", "I accept the Terms of Service", "I agree to the terms and privacy"))
    core: list[Spec] = [(k, "text_field", rng.choice(labels), {} if k in to_type else {"state": {"value": values[k]}})
                        for k, labels in (("name", LABELS["name"]), ("email", ("Email", "Email address")),
                                          ("pw", ("Password", "Create a password")))]  # fmt: skip
    core += [
        ("terms", "checkbox", terms, {"state": {"checked": False}}),
        ("go", "button", rng.choice(("Create account", "Sign up", "Register")), {"opens": "welcome"}),
    ]
    extras: list[Spec] = [("news", "checkbox", "Send me news and offers", {"state": {"checked": False}}),
                          ("google", "button", "Sign up with Google", {}),
                          ("login", "link", "Already have an account? Log in", {})]  # fmt: skip
    els = app.place(rng, s, core, extras, 3)
    app.add(app.screen("welcome", "Welcome"), "text", f"Welcome, {name.split()[0]}!")
    actions = [Action("type", els[k]["id"], v) for k, v in values.items() if k in to_type]
    actions += [click(els["terms"]), click(els["go"])]
    conditions = [on(s, els[k], value=v) for k, v in values.items()]
    conditions += [on(s, els["terms"], checked=True), {"current": "welcome"}]
    return [say(rng, "signup", **values), say(rng, "terms", x=terms)], conditions, actions


def _toggles(rng: random.Random, labels: Sequence[str], kind: str) -> list[Spec]:
    return [(x, kind if kind != "mixed" else rng.choice(("switch", "checkbox")), x,
             {"state": {"checked": rng.random() < 0.5}}) for x in labels]  # fmt: skip


_DISABLED: list[Spec] = [("off", "switch", "5G", {"state": {"checked": False, "enabled": False}}),
                         ("off", "checkbox", "eSIM", {"state": {"checked": False, "enabled": False}})]  # fmt: skip


def settings_toggles(rng: random.Random, app: App) -> Built:
    s = app.screen("settings", rng.choice(("Settings", "Quick settings", "Connections", "Device settings")))
    sub, kind = rng.random() < 0.45, rng.choice(("switch", "checkbox", "mixed"))
    labels = rng.sample(TOGGLES, rng.randint(4, 7) if sub else rng.randint(5, 9))
    sub_label = rng.choice(("Display", "Display & brightness", "Screen"))
    specs = _toggles(rng, labels, kind)
    if sub:
        specs.insert(rng.randint(0, len(specs)), ("sub", "list_item", sub_label, {"opens": "display"}))
    els = app.place(rng, s, specs, [rng.choice(_DISABLED)], 1)
    n_sub = rng.randint(1, 2) if sub else 0
    n_main = rng.randint(0, 2 if n_sub < 2 else 1) if sub else rng.randint(1, 2)
    clauses, conditions, actions = [], [], []
    targets = [(s, els[x]) for x in rng.sample(labels, n_main)]
    if n_sub:
        d = app.screen("display", sub_label)
        shown = rng.sample(DISPLAY, rng.randint(3, 5))
        d_els = app.place(rng, d, _toggles(rng, shown, kind), [rng.choice(_DISABLED)], 1)
        targets += [("display", d_els[x]) for x in rng.sample(shown, n_sub)]
    sub_clauses = []
    for screen, element in targets:
        want = not element["state"]["checked"]
        (clauses if screen == s else sub_clauses).append(say(rng, "on" if want else "off", x=element["text"]))
        conditions.append(on(screen, element, checked=want))
        if screen != s and click(els["sub"]) not in actions:
            actions.append(click(els["sub"]))
        actions.append(click(element))
    if sub_clauses:
        clauses.append(say(rng, "in_sub", c=" and ".join(sub_clauses), s=sub_label))
    return clauses, conditions, actions


def profile_edit(rng: random.Random, app: App) -> Built:
    s = app.screen("edit", rng.choice(("Edit profile", "Your profile", "Account details", "Personal info")))
    make: dict[str, Callable[[], str]] = {
        "name": lambda: person(rng)[0], "city": lambda: rng.choice(CITIES),
        "phone": lambda: f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        "bio": lambda: f"I like {rng.choice(WORDS)}s and {rng.choice(WORDS)}s"}  # fmt: skip
    keys = ["name"] + [k for k, p in (("city", 0.7), ("phone", 0.5), ("bio", 0.4)) if rng.random() < p]
    core: list[Spec] = [(k, "text_field", rng.choice(LABELS[k]), {"state": {"value": make[k]()}}) for k in keys]
    for k in rng.sample(list(OPTIONS), rng.randint(1, 2)):
        options = rng.sample(OPTIONS[k], rng.randint(4, 6))
        core.append((k, "dropdown", rng.choice(LABELS[k]), {"options": options, "state": {"value": options[0]}}))
    rng.shuffle(core)
    save_label = rng.choice(("Save", "Save changes", "Update profile"))
    core.append(("save", "button", save_label, {"opens": "profile"}))
    els = app.place(rng, s, core, [("photo", "button", "Change photo", {}), ("cancel", "button", "Cancel", {}),
                                   ("delete", "link", "Delete account", {})], 3)  # fmt: skip
    app.add(app.screen("profile", "Profile"), "text", "Changes saved")
    save = rng.random() < 0.7
    changes = rng.sample([k for k, *_ in core if k != "save"], min(rng.randint(1, 3), len(core) - 1))
    clauses, conditions, actions = [], [], []
    for k in changes:
        element, old = els[k], els[k]["state"]["value"]
        if element["type"] == "dropdown":
            value = rng.choice([o for o in element["options"] if o != old])
            clauses.append(say(rng, "pick", x=element["text"], v=value))
            actions.append(Action("select", element["id"], value))
        else:
            value = next(v for v in iter(make[k], None) if v != old)
            clauses.append(say(rng, "edit", x=element["text"], v=value))
            actions.append(Action("type", element["id"], value))
        conditions.append(on(s, element, value=value))
    if save:
        clauses.append(say(rng, "save", x=save_label))
        actions.append(click(els["save"]))
        conditions.append({"current": "profile"})
    return clauses, conditions, actions
