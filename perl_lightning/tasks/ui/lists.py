"""List-like UI app families: ``search_results``, ``dialog_confirm``, ``shopping_cart``, ``email_inbox`` and
``navigation_bar``."""

from __future__ import annotations

import random
from typing import Any

from perl_lightning.tasks.ui.actions import Action
from perl_lightning.tasks.ui.layout import ROW, TOP, WIDTH, App, Built, Spec, click, on, person, say
from perl_lightning.tasks.ui.phrases import (
    CITIES,
    COLORS,
    DIALOGS,
    FIRST,
    FOLDERS,
    LAST,
    NOUNS,
    SUBJECTS,
    SUFFIXES,
    TABS,
)


def _scrolls(top: int, height: int, bottom: int) -> int:
    """How many ``scroll(down)`` bring an element's top into view (as :class:`UIEnvironment` scrolls)."""
    scroll = count = 0
    while top >= scroll + height and count < 10:
        scroll, count = min(scroll + int(0.8 * height), max(0, bottom - height)), count + 1
    return count


def search_results(rng: random.Random, app: App) -> Built:
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
        actions += [Action("type", els["q"]["id"], query), click(els["go"])]
        conditions.append(on(s, els["q"], value=query))
        clauses.append(say(rng, "search", q=query))
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
    actions.append(click(items[k]))
    conditions.append({"current": f"item{k}"})
    clauses.append(say(rng, "open", x=names[k]))
    if depth == 3 and len(actions) < 4:
        actions.append(click(adds[k]))
        conditions.append(on(f"item{k}", adds[k], clicked=True))
        clauses.append(say(rng, "add", x=add_label))
    return clauses, conditions, actions


def dialog_confirm(rng: random.Random, app: App) -> Built:
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
    actions = ([] if open_first else [click(main["go"])]) + ([click(box)] if box else []) + [click(chosen)]
    conditions = [on(c, chosen, clicked=True), {"current": "result" if confirm else "main"}]
    conditions += [on(c, box, checked=True)] if box else []
    clauses = [say(rng, "check", x=box_label)] if box else []
    what = say(rng, "confirm", act=act.format(x=x)) if confirm else say(rng, "dismiss", act=act.format(x=x), x=cancel)
    return [*clauses, what], conditions, actions


def shopping_cart(rng: random.Random, app: App) -> Built:
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
        clauses.append(say(rng, "remove", x=x))
        conditions.append(on(s, items[x][1], clicked=True))
        actions.append(click(items[x][1]))
    for x in picked[rm:]:
        n = rng.choice([o for o in "12345" if o != items[x][0]["state"]["value"]])
        clauses.append(say(rng, "qty", x=x, n=n))
        conditions.append(on(s, items[x][0], value=n))
        actions.append(Action("select", items[x][0]["id"], n))
    if co:
        clauses.append(say(rng, "place", x=place_label) if pl else say(rng, "checkout"))
        actions += [click(els["go"])] + ([click(place)] if pl else [])
        conditions += [on(c, place, clicked=True), {"current": "placed"}] if pl else [{"current": "checkout"}]
    return clauses, conditions, actions


def email_inbox(rng: random.Random, app: App) -> Built:
    """Rows with their own controls (a training family with the per-row skill of the held-out ``shopping_cart``):
    each message is a container with a folder dropdown and "Archive" / "Delete" buttons; then maybe compose."""
    s = app.screen("inbox", rng.choice(("Inbox", "Mail", "Messages")))
    n = rng.randint(2, 3)  # 4 rows a message: more would push the compose button below the fold
    firsts = [rng.choice(FIRST)] * 2 + rng.sample(FIRST, n) if rng.random() < 0.5 else rng.sample(FIRST, n)
    lasts = rng.sample(LAST, n)  # two senders may share a first name: the goal's full name tells them apart
    senders = [f"{f.title()} {ln.title()}" for f, ln in zip(firsts, lasts, strict=False)]
    folder_label = rng.choice(("Folder", "Move to", "Label"))
    rows = {}
    for x, subject in zip(senders, rng.sample(SUBJECTS, n), strict=True):
        box = app.add(s, "container", f"{x}: {subject}")
        options = ["Inbox", *rng.sample(FOLDERS, 3)]
        folder = app.add(s, "dropdown", folder_label, {"options": options, "state": {"value": "Inbox"}}, box)
        buttons = {v: app.add(s, "button", v, None, box) for v in rng.sample(["Archive", "Delete"], 2)}
        rows[x] = (folder, buttons)
    compose_label = rng.choice(("Compose", "New message", "Write"))
    els = app.place(
        rng,
        s,
        [("go", "button", compose_label, {"opens": "compose"})],
        [("read", "link", "Mark all as read", {}), ("find", "text_field", "Search mail", {})],
        2,
    )
    c = app.screen("compose", "New message")
    to = app.add(c, "text_field", "To")
    app.add(c, "text_field", "Subject")
    app.add(c, "button", "Send")
    while True:
        rm, mv, co = int(rng.random() < 0.5), rng.randint(0, min(2, n)), rng.choice((0, 0, 1, 2))
        if 1 <= rm + mv + co <= 4 and rm + mv <= n:
            break
    picked = rng.sample(senders, rm + mv)
    clauses, conditions, actions = [], [], []
    for x in picked[:rm]:
        verb = rng.choice(("Archive", "Delete"))
        clauses.append(say(rng, "archive", verb=verb.lower(), x=x))
        conditions.append(on(s, rows[x][1][verb], clicked=True))
        actions.append(click(rows[x][1][verb]))
    for x in picked[rm:]:
        f = rng.choice(rows[x][0]["options"][1:])
        clauses.append(say(rng, "move", x=x, f=f))
        conditions.append(on(s, rows[x][0], value=f))
        actions.append(Action("select", rows[x][0]["id"], f))
    if co == 1:
        clauses.append(say(rng, "compose", x=compose_label))
        actions.append(click(els["go"]))
        conditions.append({"current": "compose"})
    elif co == 2:
        address = person(rng)[1]
        clauses.append(say(rng, "write_to", to=address))
        actions += [click(els["go"]), Action("type", to["id"], address)]
        conditions += [{"current": "compose"}, on(c, to, value=address)]
    return clauses, conditions, actions


def navigation_bar(rng: random.Random, app: App) -> Built:
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
    actions = [] if goal == start else [click(bars[start, goal])]
    item = rng.choice(list(content[goal]))
    element, sub, leaves = content[goal][item]
    leaf = rng.choice(list(leaves))
    if depth == 1:
        return [say(rng, "tab", tab=labels[goal])], [{"current": goal.lower()}], actions
    actions.append(click(element))
    if depth == 2:
        return [say(rng, "item", tab=labels[goal], item=item)], [{"current": sub}], actions
    conditions = [{"current": sub}, on(sub, leaves[leaf], checked=True)]
    return [say(rng, "leaf", tab=labels[goal], item=item, leaf=leaf)], conditions, [*actions, click(leaves[leaf])]
