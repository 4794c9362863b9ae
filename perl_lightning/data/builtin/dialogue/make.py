"""Generate ``reward_00.json``: built-in task-oriented dialogue reward data (bakery pickup-ordering assistant).

The file follows the schema of the Taskmaster reward data released with the PERL paper
(https://arxiv.org/abs/2403.10704): one JSON list of rows

    {"conversation_id": "dlg-<22 chars>",
     "context": "<JSON string of a list of turns>",
     "generation": "<JSON string of one agent turn>",
     "reward": 1.0 | 0.0}

with the turns

    {"role": "user", "text": ...}
    {"role": "agent", "text": ...}
    {"role": "agent", "api": {"<function>": {<arguments>}}}
    {"role": "api", "response": {"<function>": {<result>}}}

The domain is a bakery ("Hearth & Honey Bakery") that takes orders for pickup, with the functions
``find_menu_items`` {query}, ``add_to_order`` {item_id, options, quantity}, ``update_order_item``
{line_id, options | quantity}, ``get_order`` {order_id} and ``place_order`` {order_id, pickup_time, name}.
Conversations are simulated from scenarios (simple orders, missing options, two items, menu and price questions,
items the bakery does not carry, quantity changes, express orders); every context is a prefix of one conversation
(2-12 turns, the conversation_id is shared by the prefixes of one conversation) and every generation is the next
agent turn. Liked generations (reward 1.0) are the correct next call or a correct reply grounded in the last API
response. Disliked ones (reward 0.0) are wrong in a learnable way: wrong function, a search for the wrong or a
misspelled item, item or line ids that are not in the last API response, wrong quantity, option, price or total,
ignoring the request, repeating a question already answered, placing an order the user has not confirmed,
claiming an order was placed without calling the API, or rude or irrelevant text. About 80% of the generations
are liked, and about 120 contexts have both a liked and a disliked generation, so that pairs can be formed.

All text was written for this project (template-based simulation; no text is taken from Taskmaster).
License: Apache-2.0, the same as the ``perl_lightning`` package.

The output is deterministic (``random.Random(0)``); regenerate with::

    python perl_lightning/data/builtin/dialogue/make.py
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT_PATH = HERE / "reward_00.json"
SEED = 0

N_CONTEXTS = 400  # rated contexts in all
N_BOTH = 120  # contexts rated with both a liked and a disliked generation
N_BAD_ONLY = 20  # contexts rated with only a disliked generation
N_EXTRA_LIKED = 150  # liked ratings beyond one per context (so about 530 liked and 140 disliked generations)
MAX_CONTEXT_TURNS = 12
MAX_CONTEXT_WORDS = 350
POINTS_PER_CONVERSATION = (1, 3)
# Weights for drawing decision points: by number of context turns (short prefixes keep the file small) and by the
# kind of the correct next turn (late steps are rarer in each conversation).
CONTEXT_WEIGHT = {2: 2.5, 4: 2.5, 6: 1.5, 8: 1.0, 10: 0.6, 12: 0.4}
STAGE_WEIGHT = {"find_menu_items": 0.8, "add_to_order": 1.0, "update_order_item": 2.0, "get_order": 2.0,
                "place_order": 4.0, "text": 1.0}  # fmt: skip

GREETING = "Hearth & Honey Bakery, what can I get for you?"

# ---------------------------------------------------------------------------------------------------------------------
# Menu
# ---------------------------------------------------------------------------------------------------------------------

OPTION_GROUPS: dict[str, tuple[str, list[str]]] = {
    "toasted": ("Toasted", ["Toasted", "Not Toasted"]),
    "spread": (
        "Spread",
        ["No Spread", "Butter", "Plain Cream Cheese", "Scallion Cream Cheese", "Veggie Cream Cheese", "Honey Butter"],
    ),
    "bread": ("Bread", ["Sourdough", "Multigrain", "Rye", "Ciabatta", "Gluten-Free"]),
    "side": ("Side", ["Chips", "Side Salad", "Fruit Cup"]),
    "sliced": ("Slicing", ["Sliced", "Unsliced"]),
    "size": ("Size", ["6 inch", "8 inch", "10 inch"]),
    "warmed": ("Warmed", ["Warmed", "Room Temperature"]),
    "icing": ("Icing", ["Regular Icing", "Extra Icing", "No Icing"]),
}

# Extra cost in cents of some choices.
SURCHARGE = {
    "Plain Cream Cheese": 125,
    "Scallion Cream Cheese": 150,
    "Veggie Cream Cheese": 150,
    "Gluten-Free": 150,
    "8 inch": 800,
    "10 inch": 1600,
    "Extra Icing": 50,
}

# How a customer says a choice inside an order ("two everything bagels toasted with butter").
CHOICE_PHRASES = {
    "Toasted": ["toasted"],
    "Not Toasted": ["not toasted", "untoasted"],
    "No Spread": ["with nothing on it", "plain with no spread"],
    "Butter": ["with butter"],
    "Plain Cream Cheese": ["with plain cream cheese", "with regular cream cheese"],
    "Scallion Cream Cheese": ["with scallion cream cheese"],
    "Veggie Cream Cheese": ["with veggie cream cheese", "with the vegetable cream cheese"],
    "Honey Butter": ["with honey butter"],
    "Sourdough": ["on sourdough"],
    "Multigrain": ["on multigrain"],
    "Rye": ["on rye"],
    "Ciabatta": ["on ciabatta"],
    "Gluten-Free": ["on gluten-free bread", "on the gluten free bread"],
    "Chips": ["with chips", "with a side of chips"],
    "Side Salad": ["with a side salad"],
    "Fruit Cup": ["with the fruit cup", "with fruit on the side"],
    "Sliced": ["sliced", "sliced please"],
    "Unsliced": ["unsliced", "not sliced"],
    "6 inch": ["in the 6 inch size", "6 inch"],
    "8 inch": ["in the 8 inch size", "8 inch"],
    "10 inch": ["in the 10 inch size", "10 inch"],
    "Warmed": ["warmed up", "heated"],
    "Room Temperature": ["not warmed", "at room temperature"],
    "Regular Icing": ["with regular icing"],
    "Extra Icing": ["with extra icing"],
    "No Icing": ["with no icing", "without icing"],
}

# How a customer answers "which ...?" with a choice.
ANSWER_PHRASES = {
    "Toasted": ["toasted please", "yes, toasted", "toast it please"],
    "Not Toasted": ["not toasted", "no need to toast it", "leave it untoasted"],
    "No Spread": ["no spread", "nothing on it thanks"],
    "Sliced": ["sliced please", "go ahead and slice it", "sliced"],
    "Unsliced": ["leave it unsliced", "unsliced please", "no slicing"],
    "Warmed": ["warmed up please", "yes, warm it up"],
    "Room Temperature": ["room temperature is fine", "no need to warm it"],
}


@dataclass(frozen=True)
class Item:
    item_id: str
    name: str
    price: int  # cents
    category: str
    options: tuple[str, ...] = ()
    say: str = ""  # how a customer names one
    says: str = ""  # how a customer names several

    @property
    def plural_name(self) -> str:
        for end, repl in (("Loaf", "Loaves"), ("Sandwich", "Sandwiches")):
            if self.name.endswith(end):
                return self.name[: -len(end)] + repl
        return self.name + "s"


def _item(item_id: str, name: str, price: int, category: str, options: tuple[str, ...] = (), say: str = "") -> Item:
    say = say or name.lower()
    if say.endswith("loaf"):
        says = say[:-4] + "loaves"
    elif say.endswith("sandwich"):
        says = say + "es"
    else:
        says = say + "s"
    return Item(item_id, name, price, category, options, say, says)


BAGEL = ("toasted", "spread")
SANDWICH = ("bread", "toasted", "side")
MENU: list[Item] = [
    _item("plain-bagel-0211", "Plain Bagel", 225, "bagel", BAGEL),
    _item("sesame-bagel-0212", "Sesame Bagel", 225, "bagel", BAGEL),
    _item("everything-bagel-0214", "Everything Bagel", 225, "bagel", BAGEL),
    _item("poppy-seed-bagel-0215", "Poppy Seed Bagel", 225, "bagel", BAGEL),
    _item("cinnamon-raisin-bagel-0217", "Cinnamon Raisin Bagel", 250, "bagel", BAGEL),
    _item("butter-croissant-0302", "Butter Croissant", 325, "croissant", ("warmed",)),
    _item("chocolate-croissant-0304", "Chocolate Croissant", 375, "croissant", ("warmed",)),
    _item("almond-croissant-0305", "Almond Croissant", 410, "croissant", ("warmed",)),
    _item("ham-cheese-croissant-0308", "Ham and Cheese Croissant", 550, "croissant", ("warmed",)),
    _item("blueberry-muffin-0401", "Blueberry Muffin", 300, "muffin"),
    _item("bran-muffin-0402", "Bran Muffin", 275, "muffin"),
    _item("banana-nut-muffin-0403", "Banana Nut Muffin", 300, "muffin"),
    _item("lemon-poppy-muffin-0406", "Lemon Poppy Seed Muffin", 300, "muffin", say="lemon poppy seed muffin"),
    _item("double-chocolate-muffin-0409", "Double Chocolate Muffin", 325, "muffin"),
    _item("sourdough-loaf-0501", "Sourdough Loaf", 750, "bread", ("sliced",)),
    _item("seeded-rye-loaf-0503", "Seeded Rye Loaf", 675, "bread", ("sliced",)),
    _item("multigrain-loaf-0504", "Multigrain Loaf", 695, "bread", ("sliced",)),
    _item("olive-loaf-0506", "Olive Loaf", 795, "bread", ("sliced",)),
    _item("country-white-loaf-0507", "Country White Loaf", 595, "bread", ("sliced",)),
    _item("turkey-avocado-sandwich-0602", "Turkey Avocado Sandwich", 995, "sandwich", SANDWICH),
    _item("caprese-sandwich-0603", "Caprese Sandwich", 895, "sandwich", SANDWICH),
    _item("ham-swiss-sandwich-0605", "Ham and Swiss Sandwich", 925, "sandwich", SANDWICH),
    _item("egg-salad-sandwich-0606", "Egg Salad Sandwich", 795, "sandwich", SANDWICH),
    _item("chicken-pesto-sandwich-0608", "Chicken Pesto Sandwich", 1025, "sandwich", SANDWICH),
    _item("veggie-hummus-sandwich-0609", "Veggie Hummus Sandwich", 850, "sandwich", SANDWICH),
    _item("chocolate-chip-cookie-0701", "Chocolate Chip Cookie", 200, "cookie"),
    _item("oatmeal-raisin-cookie-0702", "Oatmeal Raisin Cookie", 200, "cookie"),
    _item("snickerdoodle-0704", "Snickerdoodle", 200, "cookie"),
    _item("peanut-butter-cookie-0705", "Peanut Butter Cookie", 200, "cookie"),
    _item("ginger-molasses-cookie-0708", "Ginger Molasses Cookie", 225, "cookie"),
    _item("carrot-cake-0802", "Carrot Cake", 2800, "cake", ("size",)),
    _item("chocolate-fudge-cake-0803", "Chocolate Fudge Cake", 3000, "cake", ("size",)),
    _item("lemon-chiffon-cake-0805", "Lemon Chiffon Cake", 2700, "cake", ("size",)),
    _item("red-velvet-cake-0806", "Red Velvet Cake", 3000, "cake", ("size",)),
    _item("cinnamon-roll-0905", "Cinnamon Roll", 425, "pastry", ("icing",)),
    _item("blueberry-scone-0911", "Blueberry Scone", 350, "pastry", ("warmed",)),
    _item("cheddar-chive-scone-0912", "Cheddar Chive Scone", 375, "pastry", ("warmed",)),
]

CATEGORY_WORDS = {
    "bagel": ("bagel", "bagels"),
    "croissant": ("croissant", "croissants"),
    "muffin": ("muffin", "muffins"),
    "bread": ("loaf", "breads"),
    "sandwich": ("sandwich", "sandwiches"),
    "cookie": ("cookie", "cookies"),
    "cake": ("cake", "cakes"),
}

# Things customers ask for that the bakery does not carry (the search returns no items).
NOT_CARRIED = [
    ("macaron", "macarons"),
    ("cannoli", "cannoli"),
    ("vegan donut", "vegan donuts"),
    ("baklava", "baklava"),
    ("cheesecake", "cheesecake"),
    ("soft pretzel", "soft pretzels"),
    ("gluten free brownie", "gluten free brownies"),
    ("lox sandwich", "lox sandwiches"),
    ("pumpkin pie", "pumpkin pie"),
    ("kouign amann", "kouign amann"),
    ("breakfast burrito", "breakfast burritos"),
    ("eclair", "eclairs"),
]

NAMES = [
    "Dana", "Marco", "Priya", "Sam", "Lena", "Omar", "Grace", "Tomas", "Aiko", "Ben", "Chloe", "Diego", "Elena",
    "Farid", "Hannah", "Ivan", "Jules", "Kofi", "Lucia", "Mei", "Nadia", "Owen", "Paula", "Rafael", "Sofia", "Theo",
    "Uma", "Victor", "Wren", "Yusuf", "Zara", "Alex", "Brooke", "Carmen", "Derek", "Maya", "Noah", "Ruth", "Ines",
]  # fmt: skip

PICKUP_TIMES = [
    ("7:30", "7:30 AM"), ("7:45 am", "7:45 AM"), ("8", "8:00 AM"), ("8:15", "8:15 AM"), ("8:30", "8:30 AM"),
    ("9 am", "9:00 AM"), ("9:45", "9:45 AM"), ("10:30", "10:30 AM"), ("11", "11:00 AM"), ("noon", "12:00 PM"),
    ("12:30", "12:30 PM"), ("1 pm", "1:00 PM"), ("2:15", "2:15 PM"), ("3 pm", "3:00 PM"), ("4:30", "4:30 PM"),
    ("5", "5:00 PM"), ("5:15", "5:15 PM"), ("6 pm", "6:00 PM"),
]  # fmt: skip

QTY_WORDS = {1: ["one", "a"], 2: ["two", "2"], 3: ["three", "3"], 4: ["four", "4"], 6: ["six", "half a dozen"]}
QTY_DISPLAY = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}

RUDE = [
    "Ugh, just tell me what you want already.",
    "I don't have all day. Figure out your order first.",
    "Whatever. Are we done here or not?",
    "That's a weird thing to order, but fine.",
    "Can you hurry up? There's a line behind you.",
    "Seriously? You could have said that the first time.",
    "I'm not going to repeat myself, so pay attention.",
    "Fine, fine. Next time please know what you want before you start.",
]
IRRELEVANT = [
    "Did you know a good sourdough starter can be kept alive for decades?",
    "Our bakery was featured in a local magazine last spring!",
    "I love rainy mornings, don't you?",
    "By the way, we are hiring weekend bakers if you know anyone.",
    "Fun fact: the croissant actually became popular in France in the 1800s.",
    "Have you seen the new mural on the building across the street?",
    "We also sell gift cards, they make great presents.",
]
ASK_ORDER_AGAIN = [
    "What can I get for you today?",
    "What would you like to order?",
    "Sure! What would you like?",
]
# Friendly sentences appended to some agent replies, liked and disliked alike (so that length is no giveaway).
FILLERS = [
    "Everything here is baked fresh every morning.",
    "Thanks for ordering with Hearth & Honey!",
    "Happy to help with anything else you need.",
    "Just let me know if you have any questions.",
    "We appreciate you stopping by today.",
]
FAKE_PLACED = [
    "Your order has been placed! See you soon.",
    "Done, your order is in. Thanks for choosing Hearth & Honey!",
    "All set, I've placed your order.",
]


def cents(x: int) -> str:
    return f"{x // 100}.{x % 100:02d}"


def with_tax(subtotal: int) -> int:
    return (subtotal * 10825 + 5000) // 10000


def hex_id(rng: random.Random, prefix: str) -> str:
    return f"{prefix}-{rng.getrandbits(40):010x}"


def conversation_id(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "dlg-" + "".join(rng.choice(alphabet) for _ in range(22))


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def qty_phrase(rng: random.Random, qty: int, item: Item) -> str:
    word = rng.choice(QTY_WORDS[qty])
    if qty == 1:
        return f"{article(item.say) if word == 'a' else word} {item.say}"
    return f"{word} {item.says}"


def misspell(rng: random.Random, text: str) -> str:
    words = text.split()
    idx = [i for i, w in enumerate(words) if len(w) > 4] or [0]
    i = rng.choice(idx)
    w = words[i]
    j = rng.randrange(1, len(w) - 1) if len(w) > 2 else 0
    if rng.random() < 0.5:
        w = w[:j] + w[j + 1 :]  # drop a letter
    else:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :] if j + 1 < len(w) else w[:-1]  # swap two letters
    words[i] = w
    out = " ".join(words)
    return out if out != text else text[:-1]


def mutate_id(rng: random.Random, item_id: str) -> str:
    """An id of the same shape as ``item_id`` but a different number (a hallucinated id)."""
    stem, num = item_id.rsplit("-", 1)
    while True:
        new = f"{int(num[:2]):02d}{rng.randrange(10, 100):02d}"
        if new != num and not any(it.item_id == f"{stem}-{new}" for it in MENU):
            return f"{stem}-{new}"


def describe(qty: int, item: Item, options: dict[str, str]) -> str:
    name = item.name if qty == 1 else item.plural_name
    text = f"{QTY_DISPLAY[qty] if qty > 1 else article(name.lower())} {name}"
    if options:
        text += " (" + ", ".join(options[g] for g in item.options if g in options) + ")"
    return text


def join_and(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def text_turn(text: str) -> dict:
    return {"role": "agent", "text": text}


def api_turn(fn: str, args: dict) -> dict:
    return {"role": "agent", "api": {fn: args}}


@dataclass
class Line:
    line_id: str
    item: Item
    qty: int
    options: dict[str, str]

    @property
    def total(self) -> int:
        return self.qty * (self.item.price + sum(SURCHARGE.get(c, 0) for c in self.options.values()))


@dataclass
class Point:
    """A decision point: the context is ``turns[:n]``, the next agent turn should be one of ``liked``."""

    n: int
    liked: list[dict]
    bad: list[tuple[str, dict]]


@dataclass
class Dialogue:
    rng: random.Random
    cid: str
    turns: list[dict] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    order_id: str = ""
    pickup: tuple[str, str] | None = None
    name: str | None = None
    last_items: list[Item] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.turns.append(text_turn(GREETING))
        self.order_id = hex_id(self.rng, "ord")

    # -- primitives ----------------------------------------------------------------------------------------------------
    def user(self, text: str) -> None:
        self.turns.append({"role": "user", "text": text})

    def reply(self, texts: list[str], bad: list[tuple[str, dict]]) -> None:
        texts = texts + [f"{t} {self.rng.choice(FILLERS)}" for t in texts]
        first = texts[self.rng.randrange(len(texts))]
        self.points.append(Point(len(self.turns), [text_turn(t) for t in texts], bad))
        self.turns.append(text_turn(first))

    def call(self, fn: str, args: dict, response: dict, bad: list[tuple[str, dict]], alts: list[dict] = ()) -> None:
        liked = [api_turn(fn, args)] + [api_turn(fn, a) for a in alts if a != args]
        self.points.append(Point(len(self.turns), liked, bad))
        self.turns.append(api_turn(fn, args))
        self.turns.append({"role": "api", "response": {fn: response}})

    # -- common bad generations ----------------------------------------------------------------------------------------
    def generic_bad(self) -> list[tuple[str, dict]]:
        return [("rude", text_turn(self.rng.choice(RUDE))), ("irrelevant", text_turn(self.rng.choice(IRRELEVANT)))]

    def premature_place(self) -> tuple[str, dict]:
        args = {"order_id": self.order_id}
        if self.pickup:
            args["pickup_time"] = self.pickup[1]
        if self.name:
            args["name"] = self.name
        return ("unconfirmed_order", api_turn("place_order", args))

    def subtotal(self) -> int:
        return sum(line.total for line in self.lines)

    # -- steps ---------------------------------------------------------------------------------------------------------
    def find(self, item: Item) -> None:
        """Search for ``item`` after the user asked for it (or about it)."""
        rng = self.rng
        same = [it for it in MENU if it.category == item.category and it is not item]
        results = [item] + rng.sample(same, k=rng.choice([0, 0, 1, 1, 2]))
        rng.shuffle(results)
        self.last_items = results
        other = rng.choice(same)
        bad = [
            ("wrong_query", api_turn("find_menu_items", {"query": other.say})),
            ("misspelled_query", api_turn("find_menu_items", {"query": misspell(rng, item.say)})),
            (
                "skipped_search",
                api_turn("add_to_order", {"item_id": mutate_id(rng, item.item_id), "options": {}, "quantity": "1"}),
            ),
            ("wrong_function", api_turn("get_order", {"order_id": self.order_id})),
            ("repeat_question", text_turn(rng.choice(ASK_ORDER_AGAIN))),
            ("false_claim", text_turn(f"Sorry, we don't sell {item.says} here.")),
            *self.generic_bad(),
        ]
        response = {"items": [self.item_json(it) for it in results]}
        self.call("find_menu_items", {"query": item.say}, response, bad, alts=[{"query": item.says}])

    def find_category(self, category: str) -> list[Item]:
        rng = self.rng
        results = [it for it in MENU if it.category == category][:4]
        self.last_items = results
        word, words = CATEGORY_WORDS[category]
        other = rng.choice([c for c in CATEGORY_WORDS if c != category])
        bad = [
            ("wrong_query", api_turn("find_menu_items", {"query": CATEGORY_WORDS[other][0]})),
            ("misspelled_query", api_turn("find_menu_items", {"query": misspell(rng, words)})),
            ("hallucinated_list", text_turn(self.fake_list(category))),
            ("false_claim", text_turn(f"We don't have any {words} today, sorry.")),
            *self.generic_bad(),
        ]
        response = {"items": [self.item_json(it) for it in results]}
        self.call("find_menu_items", {"query": word}, response, bad, alts=[{"query": words}])
        return results

    def fake_list(self, category: str) -> str:
        fakes = {
            "bagel": ["Jalapeno Cheddar", "Pumpernickel", "Asiago"],
            "croissant": ["Raspberry", "Pistachio", "Spinach Feta"],
            "muffin": ["Pumpkin Spice", "Cranberry Orange", "Corn"],
            "bread": ["Brioche", "Focaccia", "Pumpernickel"],
            "sandwich": ["BLT", "Tuna Melt", "Reuben"],
            "cookie": ["Sugar", "White Chocolate Macadamia", "Shortbread"],
            "cake": ["Tiramisu", "Black Forest", "Coconut"],
        }[category]
        return f"We have {join_and(fakes)} {CATEGORY_WORDS[category][1]}. Which one would you like?"

    @staticmethod
    def item_json(it: Item) -> dict:
        return {"item_id": it.item_id, "name": it.name, "price": cents(it.price)}

    def add(self, item: Item, qty: int, options: dict[str, str], extra_bad: list[tuple[str, dict]] = ()) -> Line:
        rng = self.rng
        args = {"item_id": item.item_id, "options": dict(options), "quantity": str(qty)}
        bad = [
            ("hallucinated_id", api_turn("add_to_order", {**args, "item_id": mutate_id(rng, item.item_id)})),
            (
                "wrong_quantity",
                api_turn(
                    "add_to_order", {**args, "quantity": str(rng.choice([q for q in (1, 2, 3, 4, 6) if q != qty]))}
                ),
            ),
            ("false_claim", text_turn(f"Sorry, it looks like we're out of {item.says} today.")),
            self.premature_place(),
            ("repeat_question", text_turn(f"How many {item.says} would you like?")),
            *extra_bad,
        ]
        others = [it for it in self.last_items if it is not item]
        if others:
            wrong = rng.choice(others)
            wrong_opts = {k: v for k, v in options.items() if k in wrong.options}
            bad.append(
                ("wrong_item", api_turn("add_to_order", {**args, "item_id": wrong.item_id, "options": wrong_opts}))
            )
        if options:
            g = rng.choice(sorted(options))
            choice = rng.choice([c for c in OPTION_GROUPS[g][1] if c != options[g]])
            bad.append(("wrong_option", api_turn("add_to_order", {**args, "options": {**options, g: choice}})))
        if self.lines:
            bad.append(
                (
                    "wrong_function",
                    api_turn("update_order_item", {"line_id": self.lines[-1].line_id, "quantity": str(qty)}),
                )
            )
        line = Line(hex_id(rng, "ln"), item, qty, dict(options))
        self.lines.append(line)
        unfilled = [g for g in item.options if g not in options]
        response = {
            "order_id": self.order_id,
            "line_id": line.line_id,
            "unfilled_options": [{"option_id": g, "choices": OPTION_GROUPS[g][1]} for g in unfilled],
            "order_total": cents(with_tax(self.subtotal())),
        }
        self.call("add_to_order", args, response, bad)
        return line

    def ask_options(self, line: Line) -> None:
        rng = self.rng
        unfilled = [g for g in line.item.options if g not in line.options]
        it = "them" if line.qty > 1 else "it"
        questions = []
        for g in unfilled:
            choices = OPTION_GROUPS[g][1]
            if g == "toasted":
                questions.append(rng.choice([f"Would you like {it} toasted?", f"Should I have {it} toasted?"]))
            elif g == "sliced":
                questions.append(rng.choice([f"Would you like {it} sliced or unsliced?", f"Should we slice {it}?"]))
            elif g == "warmed":
                questions.append(f"Would you like {it} warmed up or at room temperature?")
            else:
                lowered = join_and([c if c[0].isdigit() else c.lower() for c in choices])
                group = OPTION_GROUPS[g][0].lower()
                questions.append(
                    rng.choice(
                        [
                            f"Which {group} would you like: {lowered}?",
                            f"For the {group}, we have {lowered}. Which would you like?",
                        ]
                    )
                )
        name = line.item.name if line.qty == 1 else line.item.plural_name
        lead = [f"Sure, {QTY_DISPLAY[line.qty]} {name}.", "Got it.", f"Great, I've added the {name.lower()}."]
        texts = [
            f"{lead[0]} {' '.join(questions)}",
            f"{lead[1]} {' '.join(questions)}",
            f"{lead[2]} {' '.join(questions)}",
        ]
        rng.shuffle(texts)
        bad = [
            (
                "ignored_options",
                text_turn(f"Great, {describe(line.qty, line.item, {})} is in your order. Anything else?"),
            ),
            ("repeat_question", text_turn(f"How many {line.item.says} would you like?")),
            self.premature_place(),
            *self.generic_bad(),
        ]
        filled = [g for g in line.item.options if g in line.options]
        if filled:
            g = filled[0]
            bad.append(
                (
                    "repeat_question",
                    text_turn(f"Which {OPTION_GROUPS[g][0].lower()} would you like: {join_and(OPTION_GROUPS[g][1])}?"),
                )
            )
        g = unfilled[-1]
        fake = {
            "spread": "strawberry jam, peanut butter or nutella",
            "bread": "brioche, pita or a wrap",
            "side": "fries, onion rings or soup",
            "size": "12 inch, 14 inch or a sheet cake",
            "icing": "maple glaze or chocolate drizzle",
            "toasted": "grilled or pressed",
            "sliced": "thin, medium or thick slices",
            "warmed": "microwaved or toasted",
        }[g]
        bad.append(
            (
                "hallucinated_choices",
                text_turn(f"Got it. For the {OPTION_GROUPS[g][0].lower()}, would you like {fake}?"),
            )
        )
        self.reply(texts, bad)

    def answer_options(self, line: Line, answer: dict[str, str]) -> None:
        rng = self.rng
        phrases = [
            rng.choice(ANSWER_PHRASES.get(c, [c.lower(), f"{c.lower()} please", f"I'll go with {c.lower()}"]))
            for c in answer.values()
        ]
        self.user(join_and(phrases) if rng.random() < 0.6 else ", ".join(phrases))
        args = {"line_id": line.line_id, "options": dict(answer)}
        g = rng.choice(sorted(answer))
        wrong_choice = rng.choice([c for c in OPTION_GROUPS[g][1] if c != answer[g]])
        bad = [
            ("wrong_option", api_turn("update_order_item", {**args, "options": {**answer, g: wrong_choice}})),
            ("hallucinated_id", api_turn("update_order_item", {**args, "line_id": hex_id(rng, "ln")})),
            (
                "duplicate_add",
                api_turn(
                    "add_to_order", {"item_id": line.item.item_id, "options": dict(answer), "quantity": str(line.qty)}
                ),
            ),
            ("ignored_request", text_turn("Great, anything else for you today?")),
            self.premature_place(),
            *self.generic_bad(),
        ]
        line.options.update(answer)
        line.options = {g2: line.options[g2] for g2 in line.item.options if g2 in line.options}
        response = {"line_id": line.line_id, "unfilled_options": [], "order_total": cents(with_tax(self.subtotal()))}
        self.call("update_order_item", args, response, bad)

    def confirm_line(self, line: Line, qty_changed: bool = False) -> None:
        rng = self.rng
        d = describe(line.qty, line.item, line.options)
        tail = ["Anything else I can get you?", "Would you like anything else?", "Is there anything else today?"]
        rng.shuffle(tail)
        if qty_changed:
            texts = [f"No problem, I've changed that to {d}. {tail[0]}", f"Updated: {d}. {tail[1]}"]
        else:
            texts = [f"Got it, {d}. {tail[0]}", f"I've added {d} to your order. {tail[1]}", f"Okay, {d}. {tail[2]}"]
        rng.shuffle(texts)
        wrong_qty = rng.choice([q for q in (1, 2, 3, 4) if q != line.qty])
        bad = [
            ("wrong_details", text_turn(f"Got it, {describe(wrong_qty, line.item, line.options)}. {tail[0]}")),
            ("fake_completion", text_turn(rng.choice(FAKE_PLACED))),
            self.premature_place(),
            ("repeat_question", text_turn(f"How many {line.item.says} would you like?")),
            *self.generic_bad(),
        ]
        others = [it for it in self.last_items if it is not line.item]
        if others:
            wrong = rng.choice(others)
            opts = {k: v for k, v in line.options.items() if k in wrong.options}
            bad.append(("wrong_details", text_turn(f"Got it, {describe(line.qty, wrong, opts)}. {tail[0]}")))
        self.reply(texts, bad)

    def get_order(self, extra_bad: list[tuple[str, dict]] = ()) -> None:
        rng = self.rng
        bad = [
            *extra_bad,
            self.premature_place(),
            ("fake_completion", text_turn(rng.choice(FAKE_PLACED))),
            ("hallucinated_id", api_turn("get_order", {"order_id": hex_id(rng, "ord")})),
            ("repeat_question", text_turn("Is there anything else you would like to add?")),
            *self.generic_bad(),
        ]
        sub = self.subtotal()
        response = {
            "order_id": self.order_id,
            "items": [{"name": ln.item.name, "quantity": str(ln.qty), "options": ln.options} for ln in self.lines],
            "subtotal": cents(sub),
            "total": cents(with_tax(sub)),
        }
        self.call("get_order", {"order_id": self.order_id}, response, bad)

    def summary(self, extra_bad: list[tuple[str, dict]] = ()) -> None:
        rng = self.rng
        items = join_and([describe(ln.qty, ln.item, ln.options) for ln in self.lines])
        total = cents(with_tax(self.subtotal()))
        if self.pickup:
            when = f"for pickup at {self.pickup[1]} under {self.name}"
            texts = [
                f"Here's your order: {items}, {when}. Your total is ${total} with tax. Shall I place the order?",
                f"You have {items}, {when}, and the total comes to ${total}. Would you like me to place it?",
                f"Just to confirm: {items}, {when}. That's ${total} including tax. Should I go ahead and place it?",
            ]
        else:
            texts = [
                f"Here's your order: {items}. Your total is ${total} with tax. What time would you like to pick it up, "
                "and what name should I put it under?",
                f"You have {items}, and the total comes to ${total}. When would you like to pick it up, and what's "
                "the name for the order?",
            ]
        rng.shuffle(texts)
        wrong_total = (
            cents(self.subtotal())
            if rng.random() < 0.5
            else cents(with_tax(self.subtotal()) + rng.choice([-200, -100, 150, 300]))
        )
        bad = [
            ("wrong_total", text_turn(texts[0].replace(f"${total}", f"${wrong_total}"))),
            self.premature_place(),
            ("fake_completion", text_turn(rng.choice(FAKE_PLACED))),
            ("repeat_question", text_turn(rng.choice(ASK_ORDER_AGAIN))),
            *extra_bad,
            *self.generic_bad(),
        ]
        if self.pickup:
            bad.append(
                ("repeat_question", text_turn(f"Your total is ${total}. What time would you like to pick it up?"))
            )
        if len(self.lines) > 1:
            one = describe(self.lines[0].qty, self.lines[0].item, self.lines[0].options)
            bad.append(
                (
                    "wrong_details",
                    text_turn(f"Here's your order: {one}. Your total is ${total}. Shall I place the order?"),
                )
            )
        self.reply(texts, bad)

    def give_pickup(self) -> None:
        rng = self.rng
        self.pickup = rng.choice(PICKUP_TIMES)
        self.name = rng.choice(NAMES)
        t, n = self.pickup[0], self.name
        self.user(
            rng.choice(
                [
                    f"{t}, and it's for {n}",
                    f"{n}, around {t}",
                    f"let's say {t}. name is {n}",
                    f"i'll come by at {t}. put it under {n}",
                ]
            )
        )
        texts = [
            f"Great, pickup at {self.pickup[1]} under {n}. Shall I place the order?",
            f"Perfect, I have {n} for {self.pickup[1]}. Would you like me to place the order now?",
        ]
        other_time = rng.choice([p for p in PICKUP_TIMES if p != self.pickup])[1]
        bad = [
            self.premature_place(),
            ("fake_completion", text_turn(rng.choice(FAKE_PLACED))),
            ("repeat_question", text_turn("What time would you like to pick it up?")),
            ("wrong_details", text_turn(f"Great, pickup at {other_time} under {n}. Shall I place the order?")),
            *self.generic_bad(),
        ]
        self.reply(texts, bad)

    def place(self) -> None:
        rng = self.rng
        self.user(
            rng.choice(
                [
                    "yes please",
                    "yep, go ahead",
                    "sounds good, place it",
                    "yes that's right",
                    "perfect, go ahead and place it",
                    "yes!",
                    "that's correct, thanks",
                ]
            )
        )
        args = {"order_id": self.order_id, "pickup_time": self.pickup[1], "name": self.name}
        other_time = rng.choice([p for p in PICKUP_TIMES if p != self.pickup])[1]
        bad = [
            ("wrong_details", api_turn("place_order", {**args, "pickup_time": other_time})),
            (
                "wrong_details",
                api_turn("place_order", {**args, "name": rng.choice([n for n in NAMES if n != self.name])}),
            ),
            ("fake_completion", text_turn(rng.choice(FAKE_PLACED))),
            ("repeat_question", text_turn("What time would you like to pick it up?")),
            ("wrong_function", api_turn("get_order", {"order_id": self.order_id})),
            ("hallucinated_id", api_turn("place_order", {**args, "order_id": hex_id(rng, "ord")})),
            *self.generic_bad(),
        ]
        code = f"HH-{rng.randrange(1000, 10000)}"
        total = cents(with_tax(self.subtotal()))
        response = {"success": True, "confirmation_code": code, "pickup_time": self.pickup[1], "total": total}
        self.call("place_order", args, response, bad)
        p, n = self.pickup[1], self.name
        texts = [
            f"You're all set! Your confirmation code is {code}. The order will be ready at {p} under {n}, "
            f"and the total is ${total}.",
            f"Your order is placed, confirmation {code}. See you at {p}, {n}! The total is ${total}.",
            f"Done! Confirmation code {code}, total ${total}, ready for pickup at {p}. Thanks, {n}!",
        ]
        rng.shuffle(texts)
        wrong_code = f"HH-{rng.randrange(1000, 10000)}"
        bad = [
            ("wrong_details", text_turn(texts[0].replace(code, wrong_code))),
            ("wrong_details", text_turn(texts[0].replace(f"${total}", f"${cents(self.subtotal())}"))),
            ("repeat_question", text_turn("Would you like me to place the order?")),
            ("wrong_function", api_turn("place_order", args)),
            *self.generic_bad(),
        ]
        self.reply(texts, bad)

    def done(self, with_pickup: bool) -> None:
        rng = self.rng
        if with_pickup:
            self.pickup = rng.choice(PICKUP_TIMES)
            self.name = rng.choice(NAMES)
            t, n = self.pickup[0], self.name
            self.user(
                rng.choice(
                    [
                        f"that's it. I'll pick it up at {t}, the name is {n}",
                        f"nothing else. pickup at {t} under {n} please",
                        f"that's everything, can I grab it at {t}? name's {n}",
                        f"no that's all, {n} at {t}",
                    ]
                )
            )
        else:
            self.user(
                rng.choice(
                    [
                        "that's all",
                        "that's it for me",
                        "nope, that's everything",
                        "no thanks, that's all",
                        "no, I'm good",
                        "that'll be it",
                    ]
                )
            )
        self.get_order()
        self.summary()
        if not self.pickup:
            self.give_pickup()
        self.place()


# ---------------------------------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------------------------------


def pick_options(rng: random.Random, item: Item, p_given: float) -> tuple[dict[str, str], dict[str, str]]:
    """Choose a full set of options; return (said up front, said when asked)."""
    full = {g: rng.choice(OPTION_GROUPS[g][1]) for g in item.options}
    given = {g: c for g, c in full.items() if rng.random() < p_given}
    return given, {g: c for g, c in full.items() if g not in given}


def option_phrase(rng: random.Random, given: dict[str, str], item: Item) -> str:
    parts = [rng.choice(CHOICE_PHRASES[given[g]]) for g in item.options if g in given]
    if not parts:
        return ""
    return " " + (" ".join(parts) if rng.random() < 0.5 else ", ".join(parts))


def request(rng: random.Random, item: Item, qty: int, given: dict[str, str]) -> str:
    what = qty_phrase(rng, qty, item) + option_phrase(rng, given, item)
    template = rng.choice(
        [
            "can i get {w}?",
            "I'd like {w}, please.",
            "hi, {w} please",
            "could I order {w}",
            "let me get {w}",
            "yeah hi can I have {w}",
            "I'll take {w}",
            "hello! I want to order {w}",
            "{w} please",
        ]
    )
    return template.format(w=what)


def order_one(d: Dialogue, item: Item, qty: int, given: dict[str, str], later: dict[str, str]) -> Line:
    d.find(item)
    line = d.add(item, qty, given)
    if later:
        d.ask_options(line)
        d.answer_options(line, later)
    return line


def choose_item(rng: random.Random, category: str | None = None) -> Item:
    pool = [it for it in MENU if category is None or it.category == category]
    return rng.choice(pool)


def choose_qty(rng: random.Random, item: Item) -> int:
    if item.category in ("cake", "bread", "sandwich"):
        return rng.choice([1, 1, 1, 2])
    if item.category in ("cookie", "muffin"):
        return rng.choice([1, 2, 3, 4, 6])
    return rng.choice([1, 1, 2, 2, 3, 4])


def scenario_simple(d: Dialogue) -> None:
    rng = d.rng
    item = choose_item(rng)
    qty = choose_qty(rng, item)
    given, later = pick_options(rng, item, 0.55)
    d.user(request(rng, item, qty, given))
    line = order_one(d, item, qty, given, later)
    d.confirm_line(line)
    d.done(with_pickup=rng.random() < 0.6)


def scenario_express(d: Dialogue) -> None:
    """Everything in the first turn: item, options, pickup time and name; the summary uses the add_to_order total."""
    rng = d.rng
    item = choose_item(rng)
    qty = choose_qty(rng, item)
    given, _ = pick_options(rng, item, 1.0)
    d.pickup = rng.choice(PICKUP_TIMES)
    d.name = rng.choice(NAMES)
    what = qty_phrase(rng, qty, item) + option_phrase(rng, given, item)
    t, n = d.pickup[0], d.name
    d.user(
        rng.choice(
            [
                f"hi, just {what} for pickup at {t}, name is {n}. that's all",
                f"can I get {what}? I'll pick it up at {t}. name {n}. nothing else",
                f"I need {what} ready by {t} please, under {n}. That's my whole order",
                f"{what} for {n} at {t}, that's it",
            ]
        )
    )
    d.find(item)
    line_opts = dict(given)
    line = d.add(item, qty, line_opts)
    tail = rng.choice(["Anything else?", "Would you like anything else?"])
    d.summary(extra_bad=[("ignored_request", text_turn(f"Got it, {describe(qty, item, line.options)}. {tail}"))])
    d.place()


def scenario_two_items(d: Dialogue) -> None:
    rng = d.rng
    first = choose_item(rng)
    qty = choose_qty(rng, first)
    given, later = pick_options(rng, first, 0.8)
    d.user(request(rng, first, qty, given))
    line = order_one(d, first, qty, given, later)
    d.confirm_line(line)
    second = choose_item(rng)
    while second.category == first.category:
        second = choose_item(rng)
    qty2 = choose_qty(rng, second)
    given2, later2 = pick_options(rng, second, 0.6)
    what = qty_phrase(rng, qty2, second) + option_phrase(rng, given2, second)
    d.user(rng.choice([f"yes, also {what}", f"can I add {what}?", f"oh and {what} too", f"yeah, {what} as well"]))
    line2 = order_one(d, second, qty2, given2, later2)
    d.confirm_line(line2)
    d.done(with_pickup=rng.random() < 0.7)


def scenario_menu_question(d: Dialogue) -> None:
    rng = d.rng
    category = rng.choice(list(CATEGORY_WORDS))
    words = CATEGORY_WORDS[category][1]
    d.user(
        rng.choice(
            [
                f"what kind of {words} do you have?",
                f"what {words} do you have today",
                f"which {words} do you guys have?",
                f"hi! what are my options for {words}?",
            ]
        )
    )
    results = d.find_category(category)
    names = [it.name for it in results]
    texts = [
        f"We have {join_and(names)}. Which one would you like?",
        f"Today we have {join_and(names)}. What can I get you?",
    ]
    rng.shuffle(texts)
    dropped = rng.sample(names, k=len(names) - 1)
    bad = [
        ("hallucinated_list", text_turn(d.fake_list(category))),
        ("incomplete_list", text_turn(f"We only have {join_and(dropped[:1])}. Would you like that?")),
        ("false_claim", text_turn(f"We don't have any {words} today, sorry.")),
        ("wrong_function", api_turn("add_to_order", {"item_id": results[0].item_id, "options": {}, "quantity": "1"})),
        *d.generic_bad(),
    ]
    d.reply(texts, bad)
    item = rng.choice(results)
    qty = choose_qty(rng, item)
    given, later = pick_options(rng, item, 0.5)
    what = qty_phrase(rng, qty, item) + option_phrase(rng, given, item)
    d.user(rng.choice([f"I'll take {what}", f"{what} please", f"ooh, {what}", f"let's do {what}"]))
    line = d.add(item, qty, given)
    if later:
        d.ask_options(line)
        d.answer_options(line, later)
    d.confirm_line(line)
    d.done(with_pickup=rng.random() < 0.5)


def scenario_price(d: Dialogue) -> None:
    rng = d.rng
    item = choose_item(rng)
    d.user(
        rng.choice(
            [
                f"how much is {article(item.say)} {item.say}?",
                f"what does the {item.say} cost",
                f"hi, how much are your {item.says}?",
                f"what's the price of {article(item.say)} {item.say}",
            ]
        )
    )
    d.find(item)
    price = cents(item.price)
    texts = [
        f"{article(item.name).capitalize()} {item.name} is ${price}. Would you like to order one?",
        f"The {item.name} is ${price}. Can I get you one?",
    ]
    rng.shuffle(texts)
    others = [it for it in d.last_items if it is not item and it.price != item.price]
    wrong_price = cents(others[0].price) if others else cents(item.price + 50)
    bad = [
        ("wrong_price", text_turn(texts[0].replace(f"${price}", f"${wrong_price}"))),
        ("wrong_price", text_turn(texts[0].replace(f"${price}", f"${cents(item.price + rng.choice([-75, 50, 100]))}"))),
        ("wrong_function", api_turn("add_to_order", {"item_id": item.item_id, "options": {}, "quantity": "1"})),
        ("ignored_request", text_turn("We have lots of great things. What would you like?")),
        *d.generic_bad(),
    ]
    d.reply(texts, bad)
    qty = choose_qty(rng, item)
    given, later = pick_options(rng, item, 0.6)
    what = qty_phrase(rng, qty, item) + option_phrase(rng, given, item)
    d.user(rng.choice([f"ok, {what} then", f"yes, {what} please", f"sure, I'll take {what}"]))
    line = d.add(item, qty, given)
    if later:
        d.ask_options(line)
        d.answer_options(line, later)
    d.confirm_line(line)
    d.done(with_pickup=rng.random() < 0.5)


def scenario_not_carried(d: Dialogue) -> None:
    rng = d.rng
    say, says = rng.choice(NOT_CARRIED)
    d.user(
        rng.choice(
            [
                f"do you have {says}?",
                f"hi, can I get {article(say)} {say}?",
                f"I'm looking for {says}",
                f"any {says} today?",
            ]
        )
    )
    bad = [
        ("wrong_query", api_turn("find_menu_items", {"query": rng.choice(MENU).say})),
        (
            "skipped_search",
            api_turn("add_to_order", {"item_id": say.replace(" ", "-") + "-0101", "options": {}, "quantity": "1"}),
        ),
        ("repeat_question", text_turn(rng.choice(ASK_ORDER_AGAIN))),
        *d.generic_bad(),
    ]
    d.last_items = []
    d.call("find_menu_items", {"query": say}, {"items": []}, bad, alts=[{"query": says}])
    texts = [
        f"Sorry, we don't carry {says}. Is there something else I can get you?",
        f"I'm afraid we don't have {says}. Would you like anything else instead?",
    ]
    rng.shuffle(texts)
    bad = [
        (
            "hallucinated_id",
            api_turn("add_to_order", {"item_id": say.replace(" ", "-") + "-0101", "options": {}, "quantity": "1"}),
        ),
        ("false_claim", text_turn(f"Yes, we have {says}! How many would you like?")),
        ("repeat_question", text_turn(rng.choice(ASK_ORDER_AGAIN))),
        *d.generic_bad(),
    ]
    d.reply(texts, bad)
    item = choose_item(rng)
    qty = choose_qty(rng, item)
    given, later = pick_options(rng, item, 0.6)
    what = qty_phrase(rng, qty, item) + option_phrase(rng, given, item)
    d.user(rng.choice([f"oh ok. {what} then", f"that's fine, I'll get {what}", f"hmm, ok, {what} please"]))
    line = order_one(d, item, qty, given, later)
    d.confirm_line(line)
    d.done(with_pickup=rng.random() < 0.5)


def scenario_change_qty(d: Dialogue) -> None:
    rng = d.rng
    item = choose_item(rng)
    qty = choose_qty(rng, item)
    given, _ = pick_options(rng, item, 1.0)
    d.user(request(rng, item, qty, given))
    d.find(item)
    line = d.add(item, qty, given)
    d.confirm_line(line)
    new = rng.choice([q for q in (1, 2, 3, 4) if q != qty])
    d.user(
        rng.choice(
            [
                f"actually can you make that {QTY_DISPLAY[new]}?",
                f"wait, I need {QTY_DISPLAY[new]} instead",
                f"sorry, change it to {QTY_DISPLAY[new]} please",
            ]
        )
    )
    args = {"line_id": line.line_id, "quantity": str(new)}
    bad = [
        (
            "duplicate_add",
            api_turn("add_to_order", {"item_id": item.item_id, "options": dict(given), "quantity": str(new)}),
        ),
        ("wrong_quantity", api_turn("update_order_item", {**args, "quantity": str(qty)})),
        ("hallucinated_id", api_turn("update_order_item", {**args, "line_id": hex_id(rng, "ln")})),
        ("ignored_request", text_turn("Sure! Anything else for you today?")),
        d.premature_place(),
        *d.generic_bad(),
    ]
    line.qty = new
    response = {"line_id": line.line_id, "unfilled_options": [], "order_total": cents(with_tax(d.subtotal()))}
    d.call("update_order_item", args, response, bad)
    d.confirm_line(line, qty_changed=True)
    d.done(with_pickup=rng.random() < 0.6)


SCENARIOS = [
    (scenario_simple, 5),
    (scenario_express, 3),
    (scenario_two_items, 2),
    (scenario_menu_question, 2),
    (scenario_price, 2),
    (scenario_not_carried, 2),
    (scenario_change_qty, 2),
]

# Kinds of disliked generation drawn less often (too easy to spot on their own).
KIND_WEIGHT = {"rude": 0.4, "irrelevant": 0.4}


# ---------------------------------------------------------------------------------------------------------------------
# Sampling rated rows
# ---------------------------------------------------------------------------------------------------------------------


def dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def pick_bad(rng: random.Random, bad: list[tuple[str, dict]], liked: list[dict], k: int, ref: int | None) -> list[dict]:
    """Draw ``k`` disliked turns; with ``ref``, prefer ones longer (or shorter, at random) than ``ref`` characters."""
    pool = []  # (weight, base index, turn): a text turn also comes with a friendly sentence appended
    for j, (kind, turn) in enumerate(bad):
        if turn in liked:
            continue
        w = KIND_WEIGHT.get(kind, 1.0)
        if "text" in turn:
            pool += [(w / 2, j, turn), (w / 2, j, text_turn(f"{turn['text']} {rng.choice(FILLERS)}"))]
        else:
            pool.append((w, j, turn))
    if ref is not None:
        longer = rng.random() < 0.5
        pool = [p for p in pool if (len(dumps(p[2])) > ref) == longer] or pool
    out: list[dict] = []
    while pool and len(out) < k:
        _, j, turn = pool[rng.choices(range(len(pool)), weights=[p[0] for p in pool])[0]]
        out.append(turn)
        pool = [p for p in pool if p[1] != j and p[2] != turn]
    return out


def stage(p: Point) -> str:
    turn = p.liked[0]
    return "text" if "text" in turn else next(iter(turn["api"]))


def build(seed: int = SEED) -> list[dict]:
    rng = random.Random(seed)
    funcs = [f for f, _ in SCENARIOS]
    weights = [w for _, w in SCENARIOS]
    seen_contexts: set[str] = set()
    chosen: list[tuple[str, str, Point]] = []  # (conversation_id, context, point)
    while len(chosen) < N_CONTEXTS:
        d = Dialogue(rng, conversation_id(rng))
        rng.choices(funcs, weights=weights)[0](d)
        points = [p for p in d.points if 2 <= p.n <= MAX_CONTEXT_TURNS]
        points = [p for p in points if len(dumps(d.turns[: p.n]).split()) <= MAX_CONTEXT_WORDS]
        k = min(len(points), rng.randint(*POINTS_PER_CONVERSATION), N_CONTEXTS - len(chosen))
        picked: list[Point] = []
        while len(picked) < k:
            p = rng.choices(points, weights=[CONTEXT_WEIGHT[p.n] * STAGE_WEIGHT[stage(p)] for p in points])[0]
            points.remove(p)
            picked.append(p)
        for p in sorted(picked, key=lambda p: p.n):
            context = dumps(d.turns[: p.n])
            if context in seen_contexts:
                continue
            seen_contexts.add(context)
            chosen.append((d.cid, context, p))

    roles = ["both"] * N_BOTH + ["bad"] * N_BAD_ONLY + ["good"] * (len(chosen) - N_BOTH - N_BAD_ONLY)
    rng.shuffle(roles)
    n_liked = [0 if role == "bad" else 1 for role in roles]
    extra = N_EXTRA_LIKED
    size = [1.0 / len(context) for _, context, _ in chosen]
    while extra:  # further liked ratings of some contexts (up to 3 per context; short contexts more often)
        i = rng.choices(range(len(chosen)), weights=size)[0]
        if 0 < n_liked[i] < 3:
            n_liked[i] += 1
            extra -= 1
    rows = []
    for (cid, context, p), role, n_good in zip(chosen, roles, n_liked, strict=True):
        liked = list(p.liked)
        rng.shuffle(liked)
        # distinct liked turns where there are several; otherwise a repeated rating of the same turn
        gens = [(liked[j % len(liked)], 1.0) for j in range(n_good)]
        ref = len(dumps(gens[0][0])) if gens else None
        gens += [(turn, 0.0) for turn in pick_bad(rng, p.bad, p.liked, 0 if role == "good" else 1, ref)]
        rng.shuffle(gens)
        for turn, reward in gens:
            rows.append({"conversation_id": cid, "context": context, "generation": dumps(turn), "reward": reward})
    return rows


def main() -> None:
    rows = build()
    OUT_PATH.write_text(json.dumps(rows, ensure_ascii=False) + "\n", encoding="utf-8")
    n_good = sum(r["reward"] == 1.0 for r in rows)
    print(f"wrote {len(rows)} rows ({n_good} liked) over {len({r['context'] for r in rows})} contexts to {OUT_PATH}")


if __name__ == "__main__":
    main()
