"""Seeded synthetic app families for the UI-automation task: builders of apps, goals and gold trajectories.

Families (each a builder ``random.Random -> episode``; labels, synonyms, values, distractors, order and titles vary):

- ``login_form``: email or username + password, maybe "Remember me", social-login and recovery distractors.
- ``signup_form``: name, email, password (some pre-filled), a terms checkbox, a "Create account" button.
- ``settings_toggles``: 4-9 look-alike switches / checkboxes, sometimes a "Display" sub-screen.
- ``search_results``: type a query and open a result, or a long list (a 480 px screen) that needs ``scroll(down)``.
- ``dialog_confirm``: a modal ``dialog`` (behind it everything is disabled) to confirm or dismiss.
- ``shopping_cart``: per-item quantity dropdowns and "Remove" buttons, checkout, place the order.
- ``navigation_bar``: a tab bar on every tab screen, list items opening sub-screens.
- ``profile_edit``: text fields and "Language" / "Country" dropdowns, a "Save" button.

Each gold trajectory is 1-4 actions and a final ``done()``. :data:`HELD_OUT_FAMILIES` (``signup_form``,
``shopping_cart``) appear only in the test split, to measure generalisation to unseen app families.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import Any

from perl_lightning.tasks.ui.actions import Action
from perl_lightning.tasks.ui.phrases import (
    CITIES,
    COLORS,
    DIALOGS,
    DISPLAY,
    DOMAINS,
    FIRST,
    LABELS,
    LAST,
    NOUNS,
    OPTIONS,
    SAY,
    SUFFIXES,
    TABS,
    TOGGLES,
    WORDS,
)

ROW, WIDTH, TOP = 48, 360, 56
Spec = tuple[str, str, str, dict[str, Any]]  # key, type, text, extra fields (state, options, opens)
Built = tuple[list[str], list[dict[str, Any]], list[Action]]  # goal clauses, goal conditions, gold actions


class _App:
    """An app under construction: top-down rows of ``ROW`` px per screen, ids ``e1, e2, ...`` across the app."""

    def __init__(self) -> None:
        self.screens: dict[str, dict[str, Any]] = {}
        self.bottom: dict[str, int] = {}
        self.count = 0
        self.start = ""

    def screen(self, name: str, title: str, height: int = 800) -> str:
        self.screens[name] = {"title": title, "height": height, "elements": []}
        self.bottom[name], self.start = TOP, self.start or name
        return name

    def add(self, screen: str, kind: str, text: str, extra: dict[str, Any] | None = None,
            parent: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        """Append an element as the next row of ``screen`` (inside ``parent`` when given); the element's JSON."""
        self.count += 1
        y = self.bottom[screen]
        element = {"id": f"e{self.count}", "type": kind, "text": text, "bounds": [0, y, WIDTH, y + ROW]}
        element.update(extra or {})
        (parent.setdefault("children", []) if parent else self.screens[screen]["elements"]).append(element)
        self.bottom[screen] = y + ROW
        return element

    def place(self, rng: random.Random, screen: str, core: list[Spec], extras: Sequence[Spec] = (), most: int = 0,
              ) -> dict[str, dict[str, Any]]:  # fmt: skip
        """Add ``core`` in order with up to ``most`` of ``extras`` (distractors) at random places; elements by key."""
        rows = list(core)
        for spec in rng.sample(list(extras), rng.randint(0, min(most, len(extras)))):
            rows.insert(rng.randint(0, len(rows)), spec)
        return {key: self.add(screen, kind, text, dict(extra)) for key, kind, text, extra in rows}


def _say(rng: random.Random, kind: str, **values: str) -> str:
    return rng.choice(SAY[kind]).format(**values)


def _sentence(rng: random.Random, clauses: list[str]) -> str:
    text = clauses[-1]
    if len(clauses) > 1:
        text = ", ".join(clauses[:-1]) + rng.choice((" and ", ", then ")) + text
    return text[0].upper() + text[1:] + rng.choice((".", "", "."))


def _person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return f"{first.title()} {last.title()}", f"{first}{rng.choice(('', '.', '_'))}{last}@{rng.choice(DOMAINS)}"


def _password(rng: random.Random) -> str:
    return f"{rng.choice(WORDS)}{rng.randint(10, 99)}"


def _on(screen: str, element: dict[str, Any], **condition: Any) -> dict[str, Any]:
    return {"screen": screen, "id": element["id"], **condition}


def _click(element: dict[str, Any]) -> Action:
    return Action("click", element["id"])


FAMILIES: dict[str, Callable[[random.Random], dict[str, Any]]] = {}


def _family(name: str) -> Callable[[Callable[[random.Random, _App], Built]], Callable[[random.Random, _App], Built]]:
    """Register a builder ``(rng, app) -> (goal clauses, conditions, actions)`` as ``FAMILIES[name]``."""

    def register(build: Callable[[random.Random, _App], Built]) -> Callable[[random.Random, _App], Built]:
        def episode(rng: random.Random) -> dict[str, Any]:
            app = _App()
            clauses, conditions, actions = build(rng, app)
            if not 1 <= len(actions) <= 4:
                raise RuntimeError(f"{name}: a gold trajectory of {len(actions)} actions")
            return {"id": f"{name}-{rng.getrandbits(32):08x}", "family": name, "goal": _sentence(rng, clauses),
                    "app": json.dumps({"start": app.start, "screens": app.screens}, sort_keys=True),
                    "goal_state": json.dumps(conditions, sort_keys=True),
                    "gold_actions": [str(a) for a in (*actions, Action("done"))]}  # fmt: skip

        FAMILIES[name] = episode
        return build

    return register


@_family("login_form")
def _login(rng: random.Random, app: _App) -> Built:
    s = app.screen("login", rng.choice(("Log in", "Sign in", "Welcome back")))
    by_email = rng.random() < 0.7
    user = _person(rng)[1] if by_email else f"{rng.choice(FIRST)}{rng.randint(1, 99)}"
    pw, prefilled, remember = _password(rng), rng.random() < 0.3, rng.random() < 0.35
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
    actions += [Action("type", els["pw"]["id"], pw)] + ([_click(els["remember"])] if remember else [])
    actions.append(_click(els["go"]))
    conditions = [_on(s, els["user"], value=user), _on(s, els["pw"], value=pw), {"current": "home"}]
    conditions += [_on(s, els["remember"], checked=True)] if remember else []
    clauses = [_say(rng, "login", user=user, pw=pw)] + ([_say(rng, "check", x=remember_label)] if remember else [])
    return clauses, conditions, actions


@_family("signup_form")
def _signup(rng: random.Random, app: _App) -> Built:
    s = app.screen("signup", rng.choice(("Sign up", "Create your account", "Join us")))
    (name, email), pw = _person(rng), _password(rng)
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
    actions += [_click(els["terms"]), _click(els["go"])]
    conditions = [_on(s, els[k], value=v) for k, v in values.items()]
    conditions += [_on(s, els["terms"], checked=True), {"current": "welcome"}]
    return [_say(rng, "signup", **values), _say(rng, "terms", x=terms)], conditions, actions


def _toggles(rng: random.Random, labels: Sequence[str], kind: str) -> list[Spec]:
    return [(x, kind if kind != "mixed" else rng.choice(("switch", "checkbox")), x,
             {"state": {"checked": rng.random() < 0.5}}) for x in labels]  # fmt: skip


_DISABLED: list[Spec] = [("off", "switch", "5G", {"state": {"checked": False, "enabled": False}}),
                         ("off", "checkbox", "eSIM", {"state": {"checked": False, "enabled": False}})]  # fmt: skip


@_family("settings_toggles")
def _settings(rng: random.Random, app: _App) -> Built:
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
        (clauses if screen == s else sub_clauses).append(_say(rng, "on" if want else "off", x=element["text"]))
        conditions.append(_on(screen, element, checked=want))
        if screen != s and _click(els["sub"]) not in actions:
            actions.append(_click(els["sub"]))
        actions.append(_click(element))
    if sub_clauses:
        clauses.append(_say(rng, "in_sub", c=" and ".join(sub_clauses), s=sub_label))
    return clauses, conditions, actions


def _scrolls(top: int, height: int, bottom: int) -> int:
    """How many ``scroll(down)`` bring an element's top into view (as :class:`UIEnvironment` scrolls)."""
    scroll = count = 0
    while top >= scroll + height and count < 10:
        scroll, count = min(scroll + int(0.8 * height), max(0, bottom - height)), count + 1
    return count


@_family("search_results")
def _search(rng: random.Random, app: _App) -> Built:
    color, noun = rng.choice(COLORS), rng.choice(NOUNS)
    query = rng.choice((noun, f"{color} {noun}".lower()))
    long = rng.random() < 0.5
    names = rng.sample([f"{c} {noun}{x}" for c in COLORS for x in SUFFIXES], rng.randint(10, 16) if long else 4)
    similar = [f"{color} {noun}{x}" for x in SUFFIXES if f"{color} {noun}{x}" not in names]
    names += [] if long else rng.sample(similar, min(2, len(similar)))
    rng.shuffle(names)
    clauses, conditions, actions = [], [], []
    if not long:
        s = app.screen("search", rng.choice(("Search", "Shop", "Find products")))
        field = rng.choice(("Search", "Search products", "What are you looking for?"))
        els = app.place(rng, s, [("q", "text_field", field, {}),
                                 ("go", "button", rng.choice(("Search", "Go", "Find")), {"opens": "results"})],
                        [("recent", "link", "Clear recent searches", {}), ("scan", "button", "Scan a barcode", {}),
                         ("filters", "button", "Filters", {})], 2)  # fmt: skip
        actions += [Action("type", els["q"]["id"], query), _click(els["go"])]
        conditions.append(_on(s, els["q"], value=query))
        clauses.append(_say(rng, "search", q=query))
    r = app.screen("results", f'Results for "{query}"', 480 if long else 800)
    if long and rng.random() < 0.5:
        app.add(r, "text_field", "Search", {"state": {"value": query}})
    listing = app.add(r, "list", rng.choice(("Results", f"{len(names)} results")))
    add_label = rng.choice(("Add to cart", "Add to basket", "Buy now"))
    items, adds = [], []
    for k, name in enumerate(names):
        items.append(app.add(r, "list_item", name, {"opens": f"item{k}"}, listing))
        page = app.screen(f"item{k}", name)
        app.add(page, "text", f"${rng.randint(5, 80)}.99")
        adds.append(app.add(page, "button", add_label))
        app.add(page, "button", "Add to wishlist")
    depth = rng.choice((1, 2, 2, 3)) if not long else rng.choice((2, 2, 3))
    if depth == 1:
        return clauses, [*conditions, {"current": "results"}], actions
    below = [k for k, e in enumerate(items) if e["bounds"][1] >= 480]
    k = rng.choice(below) if long and rng.random() < 0.85 else rng.randrange(len(items))
    actions += [Action("scroll", "", "down")] * _scrolls(items[k]["bounds"][1], 480 if long else 800, app.bottom[r])
    actions.append(_click(items[k]))
    conditions.append({"current": f"item{k}"})
    clauses.append(_say(rng, "open", x=names[k]))
    if depth == 3 and len(actions) < 4:
        actions.append(_click(adds[k]))
        conditions.append(_on(f"item{k}", adds[k], clicked=True))
        clauses.append(_say(rng, "add", x=add_label))
    return clauses, conditions, actions


@_family("dialog_confirm")
def _dialog(rng: random.Random, app: _App) -> Built:
    title, verb, cancels, act, question, subjects = rng.choice(DIALOGS)
    x, cancel, open_first, confirm = rng.choice(subjects), rng.choice(cancels), rng.random() < 0.5, rng.random() < 0.6
    confirm = confirm or not open_first  # from the main screen the goal is to confirm
    app.start = "confirm" if open_first else "main"
    extras = [("share", "button", "Share", {}), ("rename", "button", "Rename", {}), ("info", "link", "Details", {})]
    core: list[Spec] = [("x", "text", x, {}), ("go", "button", verb, {"opens": "confirm"})]
    main = app.place(rng, app.screen("main", title), core, extras, 2)
    c = app.screen("confirm", title)
    for key, element in main.items():  # the same screen behind the modal dialog: disabled
        state = {} if key == "x" else {"state": {"enabled": False}}
        app.add(c, element["type"], element["text"], state)
    dialog = app.add(c, "dialog", rng.choice(("Are you sure?", "Confirm", verb)))
    app.add(c, "text", question.format(x=x), None, dialog)
    ask = rng.random() < 0.35
    box_label = rng.choice(("Don't ask again", "Remember my choice", "Don't show this again"))
    box = app.add(c, "checkbox", box_label, {"state": {"checked": False}}, dialog) if ask else None
    made = {
        label: app.add(c, "button", label, {"opens": to}, dialog)
        for label, to in rng.sample([(verb, "result"), (cancel, "main")], 2)
    }
    app.add(app.screen("result", title), "text", "Done.")
    chosen = made[verb if confirm else cancel]
    actions = ([] if open_first else [_click(main["go"])]) + ([_click(box)] if box else []) + [_click(chosen)]
    conditions = [_on(c, chosen, clicked=True), {"current": "result" if confirm else "main"}]
    conditions += [_on(c, box, checked=True)] if box else []
    clauses = [_say(rng, "check", x=box_label)] if box else []
    what = _say(rng, "confirm", act=act.format(x=x)) if confirm else _say(rng, "dismiss", act=act.format(x=x), x=cancel)
    return [*clauses, what], conditions, actions


@_family("shopping_cart")
def _cart(rng: random.Random, app: _App) -> Built:
    s = app.screen("cart", rng.choice(("Cart", "Your cart", "Shopping bag", "Basket")))
    names = rng.sample([f"{c} {n}" for c in COLORS for n in NOUNS], rng.randint(2, 4))
    qty_label, rm_label = rng.choice(("Qty", "Quantity")), rng.choice(("Remove", "Delete"))
    items = {}
    for x in names:
        box = app.add(s, "container", f"{x} (${rng.randint(4, 90)}.{rng.choice(('00', '50', '99'))})")
        qty = app.add(s, "dropdown", qty_label, {"options": list("12345"), "state": {"value": str(rng.randint(1, 3))}},
                      box)  # fmt: skip
        items[x] = (qty, app.add(s, "button", rm_label, None, box))
    place_label = rng.choice(("Place order", "Pay now", "Confirm purchase"))
    els = app.place(rng, s, [("go", "button", rng.choice(("Checkout", "Proceed to checkout", "Check out")),
                              {"opens": "checkout"})],
                    [("coupon", "link", "Apply coupon", {}), ("more", "link", "Continue shopping", {})], 2)  # fmt: skip
    c = app.screen("checkout", "Checkout")
    app.add(c, "text", f"Ship to {rng.choice(CITIES)}")
    app.add(c, "dropdown", "Delivery", {"options": ["Standard", "Express"], "state": {"value": "Standard"}})
    place = app.add(c, "button", place_label, {"opens": "placed"})
    app.add(c, "link", "Back to cart", {"opens": "cart"})
    app.add(app.screen("placed", "Order placed"), "text", "Thanks for your order!")
    while True:
        rm = int(rng.random() < 0.4)
        nq, co = rng.randint(0, min(2, len(names) - rm)), rng.random() < 0.6
        pl = co and rng.random() < 0.5
        if 1 <= rm + nq + co + pl <= 4:
            break
    picked = rng.sample(names, rm + nq)
    clauses, conditions, actions = [], [], []
    for x in picked[:rm]:
        clauses.append(_say(rng, "remove", x=x))
        conditions.append(_on(s, items[x][1], clicked=True))
        actions.append(_click(items[x][1]))
    for x in picked[rm:]:
        n = rng.choice([o for o in "12345" if o != items[x][0]["state"]["value"]])
        clauses.append(_say(rng, "qty", x=x, n=n))
        conditions.append(_on(s, items[x][0], value=n))
        actions.append(Action("select", items[x][0]["id"], n))
    if co:
        clauses.append(_say(rng, "place", x=place_label) if pl else _say(rng, "checkout"))
        actions += [_click(els["go"])] + ([_click(place)] if pl else [])
        conditions += [_on(c, place, clicked=True), {"current": "placed"}] if pl else [{"current": "checkout"}]
    return clauses, conditions, actions


@_family("navigation_bar")
def _navigation(rng: random.Random, app: _App) -> Built:
    tabs = rng.sample(list(TABS), rng.randint(3, 5))
    labels = {t: rng.choice(TABS[t][0]) for t in tabs}
    start, goal = rng.choice(tabs), rng.choice(tabs)
    app.start = start.lower()
    bars: dict[tuple[str, str], dict[str, Any]] = {}
    content: dict[str, dict[str, tuple[dict[str, Any], str, dict[str, dict[str, Any]]]]] = {}
    for t in tabs:
        s = app.screen(t.lower(), labels[t])
        bar, w = app.add(s, "container", "Tabs"), WIDTH // len(tabs)
        for i, u in enumerate(tabs):
            tab = app.add(s, "tab", labels[u], {"state": {"checked": True}} if u == t else {"opens": u.lower()}, bar)
            tab["bounds"], bars[t, u] = [i * w, TOP, (i + 1) * w, TOP + ROW], tab
        app.bottom[s] = TOP + ROW
        content[t] = {}
        for k, item in enumerate(rng.sample(TABS[t][1], rng.randint(2, len(TABS[t][1])))):
            sub = f"{t.lower()}_{k}"
            element = app.add(s, "list_item", item, {"opens": sub})
            app.screen(sub, item)
            leaves = {x: app.add(sub, "list_item", x) for x in rng.sample(TABS[t][2], min(4, len(TABS[t][2])))}
            content[t][item] = (element, sub, leaves)
    depth = rng.choice((1, 2, 3)) if goal != start else rng.choice((2, 3))
    actions = [] if goal == start else [_click(bars[start, goal])]
    item = rng.choice(list(content[goal]))
    element, sub, leaves = content[goal][item]
    leaf = rng.choice(list(leaves))
    if depth == 1:
        return [_say(rng, "tab", tab=labels[goal])], [{"current": goal.lower()}], actions
    actions.append(_click(element))
    if depth == 2:
        return [_say(rng, "item", tab=labels[goal], item=item)], [{"current": sub}], actions
    conditions = [{"current": sub}, _on(sub, leaves[leaf], checked=True)]
    return [_say(rng, "leaf", tab=labels[goal], item=item, leaf=leaf)], conditions, [*actions, _click(leaves[leaf])]


@_family("profile_edit")
def _profile(rng: random.Random, app: _App) -> Built:
    s = app.screen("edit", rng.choice(("Edit profile", "Your profile", "Account details", "Personal info")))
    make: dict[str, Callable[[], str]] = {
        "name": lambda: _person(rng)[0], "city": lambda: rng.choice(CITIES),
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
            clauses.append(_say(rng, "pick", x=element["text"], v=value))
            actions.append(Action("select", element["id"], value))
        else:
            value = next(v for v in iter(make[k], None) if v != old)
            clauses.append(_say(rng, "edit", x=element["text"], v=value))
            actions.append(Action("type", element["id"], value))
        conditions.append(_on(s, element, value=value))
    if save:
        clauses.append(_say(rng, "save", x=save_label))
        actions.append(_click(els["save"]))
        conditions.append({"current": "profile"})
    return clauses, conditions, actions


TRAIN_FAMILIES: tuple[str, ...] = tuple(f for f in FAMILIES if f not in ("signup_form", "shopping_cart"))
HELD_OUT_FAMILIES: tuple[str, ...] = ("signup_form", "shopping_cart")
