"""Vocabulary and goal paraphrases for the synthetic UI-automation apps (:mod:`perl_lightning.tasks.ui.families`).

Names, e-mail domains, words, cities, dropdown options, field labels, product colours / nouns / suffixes, settings
toggles, tab bars, confirmation dialogs, and :data:`SAY`, the goal-clause paraphrases per goal kind.
"""

from __future__ import annotations

FIRST = ("ana", "ben", "carla", "dev", "elif", "femi", "gus", "hana", "ivan", "jo", "kai", "lena", "milo", "nora")
LAST = ("lopez", "smith", "okafor", "tanaka", "novak", "silva", "khan", "berg", "costa", "meyer")
DOMAINS = ("mail.com", "example.org", "inbox.net", "post.io")
WORDS = ("sunset", "maple", "river", "orbit", "cobalt", "pepper", "tundra", "violet", "harbor", "falcon")
CITIES = ("Lisbon", "Nairobi", "Osaka", "Lima", "Oslo", "Porto", "Quito", "Accra", "Hanoi", "Perth")
OPTIONS = {"language": ("English", "Spanish", "French", "German", "Portuguese", "Japanese", "Swahili"),
            "country": ("Portugal", "Kenya", "Japan", "Peru", "Norway", "Ghana", "Vietnam", "Canada")}  # fmt: skip
LABELS = {"name": ("Full name", "Name", "Display name"), "city": ("City", "Town", "Location"),
           "phone": ("Phone", "Mobile number"), "bio": ("Bio", "About me"), "language": ("Language", "App language"),
           "country": ("Country", "Region")}  # fmt: skip
COLORS = ("Blue", "Navy", "Red", "Green", "Black", "Grey")
NOUNS = ("mug", "lamp", "backpack", "notebook", "scarf", "kettle", "umbrella")
SUFFIXES = ("", " set", " mini", " (large)", " 2-pack")
TOGGLES = ("Wi-Fi", "Wi-Fi calling", "Bluetooth", "Bluetooth scanning", "Airplane mode", "Mobile data", "Data saver",
            "Location", "Location history", "Do not disturb", "Notifications", "NFC", "Hotspot",
            "Battery saver")  # fmt: skip
DISPLAY = ("Dark theme", "Auto-rotate", "Adaptive brightness", "Night light", "Larger text", "Screen saver")
SUBJECTS = ("Lunch on Friday", "Invoice #2231", "Trip itinerary", "Team offsite", "Your receipt", "Weekend plans",
            "Quarterly report", "Flight change", "Book club notes", "Password reset")  # fmt: skip
FOLDERS = ("Work", "Personal", "Travel", "Receipts", "Family", "Later")
MIXES = ("Road trip", "Focus", "Chill mix", "Workout", "Morning coffee", "Deep sleep")
TABS = {  # tab: (its labels, its list items, the items of their sub-screens)
    "Home": (("Home",), ("Recently played", "Recommended", "New releases", "Top picks"), MIXES),
    "Search": (("Search", "Explore"), ("Browse all", "Podcasts", "Charts", "Genres"), ("Pop", "Jazz", "Rock", "Folk")),
    "Library": (("Library", "Your library"), ("Playlists", "Downloads", "Albums", "Podcasts"), MIXES),
    "Profile": (("Profile", "Account", "Me"), ("Edit profile", "Orders", "Saved addresses"), ("Details", "History")),
    "Settings": (("Settings",), ("Notifications", "Privacy", "Storage", "About"), ("Email alerts", "Push alerts")),
}
DIALOGS = (  # screen title, confirm label, cancel labels, what confirming does, the question, subjects
    ("Files", "Delete", ("Cancel", "Keep"), "delete {x}", 'Delete "{x}"? This cannot be undone.',
     ("Trip photos", "Budget 2024", "Notes.txt", "Old resume")),
    ("Drafts", "Discard", ("Keep editing", "Cancel"), "discard the draft to {x}", "Discard this draft to {x}?",
     ("Maria", "the team", "Dr. Okafor")),
    ("Account", "Sign out", ("Stay signed in", "Cancel"), "sign out of {x}", "Sign out of {x}?",
     ("ana@mail.com", "team@example.org", "kai.berg@post.io")),
    ("Subscriptions", "Unsubscribe", ("Keep", "Not now"), "unsubscribe from {x}", "Unsubscribe from {x}?",
     ("Daily Digest", "Tech Weekly", "Deals & offers")),
    ("Groups", "Leave", ("Stay", "Cancel"), "leave {x}", 'Leave the group "{x}"?', ("Book club", "Hiking crew")),
)  # fmt: skip
SAY = {  # goal-clause paraphrases per goal kind
    "login": ('sign in as {user} with password "{pw}"', 'log in to {user} using the password "{pw}"',
              'use {user} and the password "{pw}" to log in', 'enter {user} and "{pw}", then sign in'),
    "check": ('tick "{x}"', 'check "{x}"', 'make sure "{x}" is checked'),
    "signup": ('create an account for {name} ({email}) with password "{pw}"',
               'sign up as {name}, email {email}, password "{pw}"',
               'register {name} with the email {email} and the password "{pw}"'),
    "terms": ("accept the terms", "agree to the terms", 'tick "{x}"'),
    "on": ("turn on {x}", "enable {x}", "switch {x} on", "activate {x}"),
    "off": ("turn off {x}", "disable {x}", "switch {x} off", "deactivate {x}"),
    "in_sub": ("{c} in {s}", "open {s} and {c}", "in {s}, {c}"),
    "search": ('search for "{q}"', 'look up "{q}"', 'find "{q}" with the search box'),
    "open": ('open "{x}"', 'tap the result "{x}"', 'view "{x}"', 'go to "{x}" in the results'),
    "add": ('press "{x}"', 'tap "{x}" on its page', 'choose "{x}"'),
    "confirm": ("{act}", "go ahead and {act}", "confirm that you want to {act}", "yes, {act}"),
    "dismiss": ('do not {act}: choose "{x}"', 'dismiss the dialog with "{x}"', 'press "{x}" instead',
                'keep it as it is and tap "{x}"'),
    "remove": ("remove {x} from the cart", "delete {x} from my cart", "take {x} out of the cart"),
    "qty": ("set the quantity of {x} to {n}", "change {x} to quantity {n}", "make it {n} of {x}", "I want {n} of {x}"),
    "archive": ("{verb} the email from {x}", "{verb} {x}'s message", "{verb} the message from {x}"),
    "move": ("move the email from {x} to {f}", "file {x}'s message under {f}", "put the message from {x} in {f}",
             "set the folder of {x}'s email to {f}"),
    "compose": ('open "{x}"', 'tap "{x}"', 'press "{x}" to write a new message'),
    "write_to": ("write a new email to {to}", "compose a message to {to}", "start an email to {to}"),
    "checkout": ("go to checkout", "proceed to checkout", "check out"),
    "place": ('check out and press "{x}"', 'go to checkout, then tap "{x}"', 'finish the purchase with "{x}"'),
    "tab": ("go to the {tab} tab", "open {tab}", "switch to {tab}", "show me the {tab} tab"),
    "item": ("open {item} in {tab}", "go to {tab} and open {item}", "in the {tab} tab, open {item}",
             "find {item} under {tab}"),
    "leaf": ("open {leaf} in {tab} > {item}", "go to {tab}, open {item}, then pick {leaf}",
             "select {leaf} from {item} in the {tab} tab"),
    "edit": ('change {x} to "{v}"', 'set {x} to "{v}"', 'update {x} to "{v}"', 'make {x} "{v}"'),
    "pick": ("switch {x} to {v}", "select {v} as {x}", "set {x} to {v}", "pick {v} for {x}"),
    "save": ('press "{x}"', 'tap "{x}"', 'confirm with "{x}"', 'save with "{x}"'),
}  # fmt: skip
