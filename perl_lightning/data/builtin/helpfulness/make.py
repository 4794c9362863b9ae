"""Generate the small built-in helpfulness dataset (Stanford SHP style) shipped with ``perl_lightning``.

This script writes ``shp.jsonl`` next to itself: pairwise preferences between two top-level comments on the same
question post, one JSON object per line in the schema of the Stanford Human Preferences dataset (SHP)::

    {"post_id": str, "domain": "<subreddit>_<split>", "upvote_ratio": float, "history": str,
     "c_root_id_A": str, "c_root_id_B": str, "created_at_utc_A": int, "created_at_utc_B": int,
     "score_A": int, "score_B": int, "human_ref_A": str, "human_ref_B": str, "labels": 1 | 0,
     "seconds_difference": float, "score_ratio": float}

``domain`` is one of askacademia, askbaking, askcarguys, askculinary, askengineers, askhistorians, askhr,
askphysics, askscience, askvet, explainlikeimfive and legaladvice, with the suffix ``_train``, ``_validation`` or
``_test``; all posts about one question are in the same split. ``labels`` is 1 when comment A is preferred, which is
exactly when ``score_A > score_B``; ``score_ratio`` is the larger score over the smaller one (scores are >= 1), and
``seconds_difference`` is how many seconds after the other comment the preferred one was written (as in SHP, the
preferred comment is always the later one). Each comment keeps one id, score and time across the rows of its post.

465 rows over 190 posts (two differently worded posts for each of 95 questions). In most rows the preferred
comment is helpful, specific and correct, and the other one is confidently wrong, snarky, vague, off-topic or a
joke. About a quarter of the rows have a score ratio below 2; as in real SHP, their preference is weaker and noisier
(two good answers, or now and then the worse comment scored a little higher), so a "minimum score ratio 2" filter
has something to drop. Length is not a giveaway: the dispreferred comment is the longer one in about half the rows.

All text was written for this project (hand-written questions and answers; the posts wrap each question in a few
hand-written openers and closers). No text is copied from SHP or Reddit. License: Apache-2.0, the same as the
``perl_lightning`` package.

The output is deterministic (``random.Random(0)``); regenerate with::

    python perl_lightning/data/builtin/helpfulness/make.py
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
SHP_PATH = HERE / "shp.jsonl"
SEED = 0
N_VALIDATION_QUESTIONS = 10
N_TEST_QUESTIONS = 9
N_POSTS_WITH_THREE_ROWS = 85  # the other posts have 2 rows
P_LOW_RATIO = 0.25  # rows with a score ratio below 2
# Kinds of low-ratio row: a good answer narrowly beats a bad one, two good answers, a bad one narrowly wins.
LOW_RATIO_KINDS = {"close": 0.55, "two_good": 0.3, "flipped": 0.15}
BAD_WEIGHTS = {"wrong": 0.32, "snark": 0.17, "joke": 0.17, "vague": 0.17, "off_topic": 0.17}

# ---------------------------------------------------------------------------------------------------------------------
# Questions. "@domain" starts a subreddit; records are separated by blank lines: "Q:" the question, "G:" two helpful
# and correct answers, "W:" a confidently wrong answer to that question. Indented lines continue the previous field.
# ---------------------------------------------------------------------------------------------------------------------

QUESTIONS = r"""
@askculinary
Q: Why does my risotto always turn out gluey instead of creamy? I stir it constantly and add the broth a ladle at a
   time like the recipes say.
G: Gluey risotto is almost always overcooked risotto. Pull it off the heat while the rice still has a slight bite in
   the center, since it keeps cooking as it rests. Finish with cold butter and cheese, and add a splash of broth so
   it flows a little on the plate.
G: Use warm broth and stop when the grains are just al dente. Constant stirring isn't the problem, but cooking past
   al dente breaks the grains down into paste. Also make sure it's arborio or carnaroli and that you didn't rinse
   it.
W: You're using the wrong rice. Real risotto is made with long-grain basmati, which never gets sticky. Rinse it well
   and boil it in plenty of water like pasta, then drain and stir in cheese.

Q: I made pickled garlic and a bunch of the cloves turned bright blue-green. Did I do something wrong? Is it still
   safe to eat?
G: That's a harmless reaction. Garlic contains sulfur compounds that react with enzymes and acid to form blue-green
   pigments, especially in younger garlic or with trace copper in the water. It doesn't change the flavor and isn't
   a sign of spoilage.
G: Totally normal and safe. The color comes from pigments that form when garlic's sulfur compounds meet the acid in
   the brine. Using older, fully cured garlic makes it less likely, but the blue cloves taste the same.
W: Blue garlic means mold has gotten into the jar. The color comes from spores spreading through the brine, so the
   whole batch is spoiled and you should throw it all out and sterilize the jar.

Q: My cast iron pan has a sticky, tacky layer on it after I seasoned it in the oven. What went wrong and how do I
   fix it?
G: Too much oil. Seasoning has to be wiped on and then wiped off until the pan looks almost dry, or the excess turns
   into a gummy film. Bake it upside down at a high temperature for another hour, and if it's still tacky, scrub it
   back and do thin coats.
G: Sticky seasoning means the oil didn't fully polymerize, usually because the layer was too thick or the oven
   wasn't hot enough. Put it back in the oven around 450 to 500 F for an hour. Next time use a very thin coat and
   buff it off.
W: The sticky layer means you didn't use enough oil. Pour about a quarter cup into the pan, swirl it around, and
   bake it at a low temperature overnight so it soaks into the metal.

Q: Every recipe says caramelized onions take 10 to 15 minutes, but mine take forever and still aren't brown. What am
   I doing wrong?
G: Nothing, the recipes are lying. Properly caramelized onions take 40 minutes to an hour over medium-low heat. A
   pinch of salt helps them release water, and a splash of water when the pan gets dark lets you deglaze the brown
   bits back into the onions.
G: Real caramelization is slow. If a recipe says 10 minutes, it means softened and lightly browned, not jammy and
   deep brown. Give them at least 45 minutes, stir occasionally, and don't crowd a small pan.
W: Turn the heat all the way up and keep stirring. Caramelizing is just about high heat, and if you do it right it
   should be done in about five minutes. Low heat only makes them soggy.

Q: Whenever I try to sear steak or chicken, it turns gray and sits in a puddle of liquid instead of browning. How do
   I get a good crust?
G: Three things: pat the meat completely dry, get the pan very hot before the meat goes in, and don't overcrowd it.
   Too much meat drops the pan temperature so the juices steam instead of evaporating. Cook in batches and leave it
   alone until it releases.
G: Moisture is the enemy of browning. Dry the surface with paper towels, salt ahead of time, and use a heavy pan
   like cast iron or stainless heated until the oil shimmers. If you fit more than one layer, do two batches.
W: Start the meat in a cold pan with a little water so it cooks evenly, then turn up the heat. The water stops it
   from burning and the crust forms once the water boils off.

Q: My homemade mayo broke right at the end and turned into a greasy, runny mess. Is there any way to save it, or do
   I have to start over?
G: You can save it. Put a fresh egg yolk (or a teaspoon of mustard) in a clean bowl and whisk the broken mayo into
   it drop by drop, then in a thin stream once it thickens again. It usually comes back together in a minute or two.
G: Start a new base with a yolk or a spoon of water, then slowly whisk the broken mixture in as if it were the oil.
   Broken mayo usually happens from adding oil too fast, so go slowly at the start.
W: Just put the bowl in the freezer for an hour. Once the oil gets cold it thickens back up and the mayo will be
   fine, no need to whisk anything again.

Q: Why do people say you have to rest meat after cooking it? Isn't it just getting cold while it sits there?
G: Resting lets the temperature even out and the juices thicken slightly, so less runs out when you slice. It also
   finishes cooking from carryover heat. Five to ten minutes for steaks and longer for roasts is plenty, and it
   won't get cold in that time.
G: Two reasons: carryover cooking brings the center up a few degrees, and juices redistribute a bit so the meat
   loses less liquid on the board. Tent it loosely with foil if you're worried about it cooling.
W: Resting is a total myth. Meat is full of juice that seals in when you sear it, so it doesn't matter when you cut
   it. Slice it the second it comes off the heat so it stays hot.

Q: How much salt should actually go into pasta water? I've heard everything from a pinch to salty like the sea.
G: Roughly 1 to 2 percent by weight, which works out to about a tablespoon of kosher salt per 4 liters of water.
   That seasons the pasta without making it salty. Seawater is around 3.5 percent, which is too much for most
   dishes.
G: A good rule is about 10 grams of salt per liter. Taste the water: it should taste pleasantly seasoned, like a
   broth, not like the ocean. Adjust down if your sauce is already very salty.
W: The amount doesn't matter for flavor, because salt is only there to make the water boil faster. A pinch raises
   the boiling point so much that it cuts the cooking time in half.

Q: My kitchen knives go dull really fast even though I bought decent ones. I use them on a glass board and wash them
   in the dishwasher. What am I doing wrong?
G: The glass board is the big problem. Glass, stone, and ceramic boards roll the edge over almost immediately.
   Switch to wood or plastic, hand wash the knives, and use a honing rod every few uses to straighten the edge
   between sharpenings.
G: Glass boards and the dishwasher are both hard on edges. Use a wood or plastic board, hand wash and dry the knives
   right away, and hone them regularly. Even good knives need a real sharpening every few months.
W: Glass boards are actually the best for knives because they're the most hygienic. Knives just go dull on their own
   over time, so buy cheap ones and replace them every year.

Q: My rice always ends up mushy on top and burned onto the bottom of the pot. I use a regular pot on the stove, not
   a rice cooker.
G: Rinse the rice until the water runs mostly clear, use the right ratio (about 1.25 to 1.5 cups water per cup of
   long-grain white rice), bring it to a boil, then cover and turn to the lowest heat for about 15 minutes. Let it
   rest covered off the heat for 10 minutes and don't lift the lid.
G: Too much water causes mush and too much heat scorches the bottom. Measure the water, keep the lid on, and use the
   lowest flame after it boils. A heavier pot also helps spread the heat so the bottom doesn't burn.
W: You need to stir it constantly the whole time it cooks, like risotto. Leaving rice alone with the lid on is what
   makes it burn. Add more water whenever it looks dry.

@askbaking
Q: My chocolate chip cookies spread into thin, flat puddles every time. I follow the recipe exactly. What could
   cause this?
G: Usually warm butter or too little flour. Measure flour by weight if you can, since scooping can vary a lot. Chill
   the dough for at least an hour before baking, and make sure the baking sheet is cool between batches.
G: Chill the dough and check your oven temperature with a thermometer, since an oven running cool lets the butter
   melt before the cookies set. Melted or very soft butter and low flour measurements are the other common culprits.
W: Your cookies spread because there isn't enough sugar. Add an extra cup of sugar to the dough and bake them at a
   lower temperature for longer so they hold their shape.

Q: My homemade sandwich bread always comes out dense and heavy. It rises a bit but never gets that soft, fluffy
   texture. Any ideas?
G: Most likely under-proofing or under-kneading. Knead until the dough passes the windowpane test, then let it rise
   until it has roughly doubled, even if that takes longer than the recipe says. Also check that your yeast is fresh
   by proofing it in warm water first.
G: Dense bread usually means the gluten wasn't developed enough or the dough didn't rise enough. Give it more
   kneading, a warm spot to rise, and judge by size rather than time. Too much flour while kneading also makes it
   heavy.
W: Dense bread means you kneaded it too much. Bread should only be mixed for a few seconds, and you should bake it
   right away without letting it rise so the yeast doesn't get tired.

Q: Every cake I bake sinks in the middle after I take it out of the oven. The edges look great but the center
   collapses. What's going on?
G: The center is usually underbaked. Bake until a skewer in the middle comes out clean and the top springs back, and
   check your oven with a thermometer. Opening the door early and too much baking powder can also make a cake rise
   fast and then fall.
G: Check three things: oven temperature, leavening, and doneness. A cool oven or an underbaked center collapses as
   it cools, and too much baking soda or powder makes big bubbles that burst. Bake a bit longer and measure the
   leavening carefully.
W: Cakes sink because the pan is too big. Use the smallest pan you can fit the batter into, fill it to the very top,
   and it will rise evenly every time.

Q: A recipe calls for baking powder but I only have baking soda. Can I just swap one for the other?
G: Not directly. Baking soda is about three to four times stronger and needs an acid to react. For each teaspoon of
   baking powder, you can use about a quarter teaspoon of baking soda plus half a teaspoon of cream of tartar, or
   replace some of the liquid with buttermilk or yogurt.
G: Baking powder already contains an acid, baking soda doesn't. If you substitute soda straight across, the bake
   will taste soapy and may not rise right. Use much less soda and add an acid like cream of tartar, lemon juice, or
   buttermilk.
W: Yes, they're the same thing with different names. Use exactly the same amount of baking soda and it will turn out
   identical.

Q: Why do so many recipes insist on room-temperature eggs and butter? Does it really make a difference?
G: It does for cakes and cookies. Room-temperature butter traps air when you cream it with sugar, and warmer eggs
   blend into the butter without making it seize and curdle. That gives a lighter, more even crumb. For things like
   brownies or pancakes it matters less.
G: Cold ingredients don't emulsify well. Cold eggs can firm up creamed butter and make the batter look broken, which
   leads to a denser cake. If you forget, put the eggs in warm water for ten minutes.
W: It's only about food safety. Cold eggs can make you sick, so letting them sit out for a day or two kills the
   bacteria before baking.

Q: My pie crust shrinks down the sides of the dish every time I blind bake it. How do I stop that?
G: Shrinking means the gluten was stretched or overworked. Don't stretch the dough into the pan, just ease it in,
   then chill the shaped crust for at least 30 minutes before baking. Line it with parchment and fill it to the top
   with pie weights or dried beans.
G: Rest and chill the dough after rolling and again after shaping so the gluten relaxes. Use weights during blind
   baking, and leave a little extra dough at the rim since some shrinkage is normal.
W: Add more water to the dough and knead it for ten minutes so it gets stretchy. A stretchy dough holds its shape
   better in the oven.

Q: There's a layer of grayish liquid on top of my sourdough starter. Is it ruined, or can I still use it?
G: That liquid is called hooch, and it means the starter is hungry. Pour it off (or stir it in for a tangier flavor)
   and feed the starter. If it keeps showing up, feed more often or use a higher ratio of fresh flour.
G: It's fine. The liquid is alcohol produced by the yeast when it runs out of food. Discard it, feed the starter,
   and it should be bubbly again within a day. Pink or orange streaks or fuzzy mold would be a different story.
W: Any liquid on top means the starter has gone bad. Throw it away and start a new one from scratch, since there's
   no way to bring it back.

Q: How do you make brownies fudgy instead of cakey? Mine always come out like chocolate cake.
G: Fudgy brownies have a higher ratio of fat and chocolate to flour. Use melted butter and chocolate, less flour,
   and skip or reduce the baking powder. Also pull them out when a toothpick still has moist crumbs, since they set
   as they cool.
G: Cut the flour and leavening, use melted rather than creamed butter, and underbake slightly. Creaming butter with
   sugar adds air, which is exactly what makes them cakey.
W: Add two extra eggs and a teaspoon of baking powder, then beat the batter for five minutes. More air and more eggs
   make them much fudgier.

@askscience
Q: Why is the sky blue during the day but red and orange at sunset? It's the same sunlight, so why does the color
   change?
G: Air molecules scatter short blue wavelengths much more than red ones, which is called Rayleigh scattering, so
   blue light reaches your eyes from all over the sky. At sunset the light passes through much more atmosphere, so
   most of the blue is scattered away before it reaches you and the reds and oranges remain.
G: It's all scattering. Blue light gets bounced around by air molecules far more than red light. When the sun is
   low, its light travels a much longer path through the air, the blue is scattered out along the way, and what's
   left looks red and orange.
W: The sky is blue because it reflects the color of the oceans. At sunset the sun is reflecting off the land instead
   of the water, which is why the color changes to red.

Q: Why do we always see the same side of the Moon? Doesn't it spin at all?
G: It does spin, but exactly once per orbit, so the same face always points toward Earth. This is called tidal
   locking. Earth's gravity stretched the Moon slightly, and over billions of years the friction from that bulge
   slowed its spin until it matched its orbit.
G: The Moon rotates once every 27 days or so, which is the same time it takes to orbit Earth. Tidal forces gradually
   slowed its rotation until the two matched. Many moons in the solar system are tidally locked to their planets the
   same way.
W: The Moon doesn't rotate at all, it just stays fixed in space while the Earth spins underneath it. That's why we
   only ever see one side.

Q: Why does ice float? I thought solids were supposed to be denser than their liquids.
G: Most substances are denser as solids, but water is an exception. When water freezes, hydrogen bonds lock the
   molecules into an open hexagonal lattice that takes up more space than liquid water. Ice is about 9 percent less
   dense, so it floats.
G: Water molecules in ice are held in a spaced-out crystal structure by hydrogen bonds. In the liquid, they can pack
   more closely. That makes ice less dense than water, which is also why lakes freeze from the top down.
W: Ice floats because it has air bubbles trapped inside it. If you froze perfectly pure water with no air, the ice
   would sink straight to the bottom.

Q: How do noise-cancelling headphones actually work? How can adding sound make things quieter?
G: Microphones on the headphones pick up outside noise, and a chip generates a sound wave that is the mirror image
   of it, with peaks where the noise has troughs. When the two combine they cancel out, which is called destructive
   interference. It works best on steady low-frequency sounds like engine hum.
G: They use destructive interference. The headphones measure incoming noise and play an inverted copy of it, so the
   pressure waves cancel. Sudden or high-pitched sounds are harder to predict, so the padding does most of the work
   for those.
W: They just play a quiet white noise that your brain focuses on instead of the outside sound. Nothing is actually
   being cancelled, it's a psychological trick.

Q: Why do we have seasons? My kid asked and I said it's because Earth is closer to the Sun in summer, but now I'm
   not sure that's right.
G: It's actually the tilt. Earth's axis is tilted about 23.5 degrees, so for part of the year your hemisphere leans
   toward the Sun and gets more direct light and longer days. Earth is in fact closest to the Sun in early January,
   during northern winter.
G: Distance barely changes and isn't the reason. The tilt of Earth's axis means sunlight hits your hemisphere at a
   steeper angle in summer, spreading less, and days are longer. That's why the hemispheres have opposite seasons at
   the same time.
W: You were right, it's distance. Earth's orbit is very stretched out, so in summer we're millions of miles closer
   to the Sun, and in winter we're much farther away.

Q: Why does a metal bench feel so much colder than a wooden bench when they've both been sitting outside at the same
   temperature?
G: They're the same temperature, but metal conducts heat much faster than wood. When you touch metal, it pulls heat
   out of your skin quickly, and your nerves sense that heat loss as cold. Wood is an insulator, so your skin stays
   warmer.
G: What you feel is the rate of heat flow, not the temperature. Metal has high thermal conductivity and draws heat
   from your hand quickly, while wood conducts poorly. On a very hot day the opposite happens and the metal feels
   hotter.
W: Metal is actually colder than wood because it reflects sunlight and holds onto cold from the night before. If you
   measured them, the metal would be several degrees lower.

Q: How do scientists know the universe is about 13.8 billion years old? Nobody was there to see it.
G: Mainly from measuring how fast the universe is expanding and from the cosmic microwave background, the leftover
   glow from when the universe was young. Models fitted to those measurements give an age of about 13.8 billion
   years, and it's consistent with the ages of the oldest stars.
G: Two independent lines of evidence agree: the expansion rate traced back in time and detailed maps of the cosmic
   microwave background. The oldest star clusters we can date are a bit younger than 13.8 billion years, which fits.
W: It's based on carbon dating of meteorites. Scientists measure how much carbon is left in the oldest rocks from
   space and count backwards to the Big Bang.

Q: Why do onions make you cry when you cut them but garlic doesn't?
G: Cutting an onion breaks its cells and releases enzymes that turn sulfur compounds into a gas called
   syn-propanethial-S-oxide. It reaches your eyes and irritates them, so they tear up. Garlic uses a different
   enzyme pathway that doesn't produce that gas.
G: Onions release an irritating sulfur gas when their cells are damaged. Chilling the onion, using a sharp knife,
   and cutting the root end last all reduce it. Garlic's chemistry produces allicin instead, which smells strong but
   doesn't sting your eyes the same way.
W: Onions are very acidic, and the juice sprays into your eyes when you cut them. Garlic has no juice, so it can't
   reach your eyes.

Q: How do migrating birds know where to go? Some of them fly thousands of miles and land in the same place every
   year.
G: They use several cues together: the position of the sun, star patterns at night, Earth's magnetic field, and
   landmarks like coastlines and mountains. Young birds of many species inherit a basic direction and distance, then
   refine it with experience.
G: Birds combine a sun compass, a star compass, and a magnetic sense, and many also use smell and familiar landmarks
   near the end of the trip. Experiments with displaced birds show experienced adults can correct for being moved,
   while first-timers often can't.
W: They just follow the warm air. Birds fly in whatever direction feels warmer, and that happens to lead them to the
   same place each year.

@askphysics
Q: Why can't anything with mass go faster than light? If you keep pushing something, why doesn't it keep speeding
   up?
G: As an object approaches light speed, the energy needed to speed it up further grows without limit. Reaching light
   speed would take infinite energy. You can keep pushing and the object keeps gaining energy and momentum, but its
   speed only creeps closer to the limit.
G: In relativity, kinetic energy diverges as speed approaches c. Each push adds energy, but the speed increases less
   and less. Only massless particles like photons travel at c, and they always do.
W: It's because of air resistance. In empty space with no air, you could easily go faster than light, we just
   haven't built a rocket powerful enough yet.

Q: If I dropped a bowling ball and a feather at the same time in a vacuum chamber, which would hit the ground first?
G: They would land at the same time. Without air resistance, all objects fall with the same acceleration regardless
   of mass. The bowling ball feels more gravitational force, but it also has more inertia, and the two exactly
   cancel out.
G: Same time. Gravity gives everything the same acceleration near Earth's surface, about 9.8 m/s squared. The
   feather only falls slowly in air because of drag. There are great videos of this done in huge vacuum chambers.
W: The bowling ball, because heavier objects always fall faster. It would hit the ground about ten times sooner
   since it's about ten times heavier.

Q: Why doesn't a spinning top fall over until it slows down? What keeps it upright?
G: A spinning top has angular momentum. When gravity tries to tip it, the torque changes the direction of that
   angular momentum sideways instead of knocking it over, so the top wobbles around in a circle, called precession.
   As friction slows the spin, it can't resist as well and falls.
G: Gravity's torque causes precession rather than toppling as long as the spin is fast. The faster it spins, the
   slower it precesses. Friction gradually drains the spin, the wobble grows, and eventually it falls.
W: It's held up by a small cushion of air that builds up underneath it while it spins. Once it slows down, the air
   escapes and the top falls over.

Q: How does a microwave oven heat food? I've heard it cooks food from the inside out. Is that true?
G: Microwaves make water molecules in the food rotate back and forth with the oscillating field, and that motion
   turns into heat. They only penetrate about a centimeter or two, so the inside of thick food heats mostly by
   conduction. It does not cook from the inside out.
G: It heats mainly water, fats, and sugars near the surface by making their molecules jiggle. Deeper parts warm up
   through conduction, which is why you stir or let food stand. The inside-out idea is a myth.
W: Yes, microwaves heat the center first, then the heat moves outward. That's why the middle of food is always
   hotter than the outside.

Q: Astronauts on the space station float around, but I read that gravity there is still about 90 percent as strong
   as on the ground. How does that make sense?
G: They're in free fall. The station and everyone in it are falling toward Earth, but they're moving sideways so
   fast that they keep missing it, which is what an orbit is. Since everything falls together, nothing pushes
   against anything, and they feel weightless.
G: Weightlessness isn't the absence of gravity, it's the absence of a supporting force. The station is in continuous
   free fall around Earth, so astronauts and the station accelerate together and they float relative to it.
W: That number is wrong. There's no gravity at all in space once you're past the atmosphere, which is why everything
   floats.

Q: How does a bicycle stay upright when it's moving but fall over when it's stopped?
G: Mostly through steering. When a bike starts to lean, the rider (and the bike's geometry) steers into the lean,
   which moves the wheels back under the center of mass. The fork's trail and the front wheel's gyroscopic effect
   help it self-correct, but steering is the main effect.
G: A moving bike can steer its wheels back under the rider, and its front-end geometry makes it turn into a lean
   automatically. When it's stopped, steering can't move the contact points under you, so it falls.
W: It's purely because of the spinning wheels acting as giant gyroscopes. Engineers have shown the gyroscope effect
   is strong enough to hold up the bike and rider all by itself.

@explainlikeimfive
Q: ELI5: How do credit scores work? What makes them go up or down?
G: A credit score is a number that predicts how likely you are to pay back borrowed money. It mostly comes from
   whether you pay bills on time, how much of your available credit you're using, how long you've had accounts, and
   how many new ones you've opened. Late payments and maxed-out cards drag it down.
G: Lenders want to know if you'll repay them, so companies summarize your borrowing history into a number. Paying on
   time and keeping balances low raise it, while missed payments, high balances, and lots of new applications lower
   it.
W: Your credit score goes up when you spend more money. Banks reward people who use their cards a lot, so the
   easiest way to raise it is to max out a card every month.

Q: ELI5: Why do we have leap years?
G: A year, meaning one trip around the Sun, takes about 365 and a quarter days. If calendars always used 365 days,
   the seasons would slowly drift. Adding an extra day every four years keeps the calendar lined up, with a few
   exceptions for century years.
G: Earth takes about 365.24 days to orbit the Sun. The leftover quarter day adds up, so every four years we add
   February 29. Century years skip it unless divisible by 400, which fixes the small overcorrection.
W: Leap years exist because the Moon takes an extra day to orbit Earth every four years. The extra day keeps the
   months matched to the Moon.

Q: ELI5: How does my phone's GPS know exactly where I am?
G: GPS satellites constantly broadcast their position and the exact time from very precise clocks. Your phone
   listens to several at once and measures how long each signal took to arrive, which tells it how far away each
   satellite is. With four or more distances it can work out your position.
G: Each satellite is like a lighthouse shouting what time it is. Your phone hears several of them, compares the
   delays, and figures out the only spot on Earth that fits all those distances. Phones also use Wi-Fi and cell
   towers to speed it up.
W: Your phone sends a signal up to the satellites, and the satellites take a picture of where the signal came from
   and send your location back to you.

Q: ELI5: Why does soda fizz up so much more if you shake it before opening it?
G: Soda has carbon dioxide dissolved in it under pressure. Shaking creates tiny bubbles in the liquid. When you open
   it, the gas comes out of solution fastest where bubbles already exist, so all those tiny bubbles grow at once and
   push the soda out.
G: The gas needs a starting point, called a nucleation site, to form bubbles. Shaking fills the liquid with small
   bubbles that act as starting points, so when the pressure drops everything fizzes at once.
W: Shaking the can adds more gas into the soda. The more you shake it, the more carbon dioxide gets made, which is
   why it explodes when you open it.

Q: ELI5: How does a refrigerator make things cold? Where does the heat go?
G: A fridge doesn't make cold, it moves heat. A special fluid evaporates in pipes inside the fridge, which absorbs
   heat just like sweat cooling your skin. A compressor then squeezes that gas, and it releases the heat through
   coils on the back or bottom. That's why the back feels warm.
G: The refrigerant soaks up heat as it turns from liquid to gas inside, then gets compressed and dumps the heat
   outside through the coils. The heat ends up in your kitchen.
W: Fridges have a block of special ice inside the walls that slowly melts. Every few years the ice runs out, which
   is why old fridges stop working.

Q: ELI5: What actually is inflation, and why do prices go up over time?
G: Inflation means prices across the economy rise on average, so each dollar buys a bit less. It happens when
   spending grows faster than the supply of goods, or when costs like energy and wages rise. Central banks usually
   aim for a small, steady amount, around 2 percent a year.
G: Think of it as money slowly losing buying power. If lots of people want to buy things and businesses can't make
   more fast enough, or if making things gets more expensive, prices rise. Central banks raise interest rates to
   cool it down.
W: Inflation is when stores raise prices because they are greedy. If stores all agreed to stop, there would be no
   inflation, and the government has nothing to do with it.

Q: ELI5: Why do my fingers get wrinkly when I'm in the bath for a long time?
G: It's actually controlled by your nervous system. After a while in water, blood vessels under the skin of your
   fingers and toes narrow, and the skin puckers into wrinkles. Some scientists think this helps with grip on wet
   things, like treads on a tire.
G: It's not just skin soaking up water. Nerves trigger blood vessels in your fingertips to shrink, which pulls the
   skin into folds. People with certain nerve damage don't get wrinkly fingers, which is how researchers figured
   this out.
W: Your skin is absorbing water and swelling up like a sponge. Eventually it absorbs so much that it starts to
   shrink back and wrinkle.

Q: ELI5: How do airplanes stay in the air? They're incredibly heavy.
G: The wings are shaped and angled so that they push air downward as the plane moves forward. Pushing air down
   pushes the wing up, like your hand out of a car window. The engines just provide enough speed for the wings to
   keep doing that.
G: Wings create lower pressure above them and higher pressure below as air flows past at speed, which adds up to a
   big upward force called lift. Faster speed or a steeper angle makes more lift, which is why planes need a runway.
W: Airplanes are filled with a light gas, a bit like a balloon, that makes them lighter than air. The wings are only
   there to steer.

Q: ELI5: Why does my voice sound so weird when I hear a recording of it?
G: When you talk, you hear your voice through the air and also through the bones of your head, which adds deeper
   tones. A recording only captures the sound traveling through the air, so it sounds higher and thinner than what
   you're used to. Everyone else hears the recording version.
G: Bone conduction. Vibrations travel through your skull to your inner ear and make your own voice sound fuller and
   lower to you. Microphones don't get that, so the recording is actually closer to how others hear you.
W: Microphones always change the pitch of your voice a little, and cheap phone microphones are the worst. A
   professional microphone would make you sound the way you hear yourself.

Q: ELI5: How does compound interest work? Why do people say it's so powerful?
G: With compound interest, you earn interest on your original money and also on the interest you've already earned.
   So the growth speeds up over time. At 7 percent a year, money roughly doubles about every 10 years, which is why
   starting early matters so much.
G: Interest gets added to your balance, and next year you earn interest on the bigger balance. It snowballs. The
   same works against you on debt, where unpaid interest gets added and then charged interest too.
W: Compound interest means the bank pays you the same fixed amount every year, no matter how big your balance gets,
   so it's really only useful for large deposits.

@legaladvice
Q: My landlord kept my entire security deposit, saying he needs to repaint and replace the carpet after I lived
   there four years. Is that allowed? (US)
G: In most states a landlord can't charge you for normal wear and tear, and paint and carpet wearing out after four
   years usually counts. Look up your state's deposit law, which typically requires an itemized list within a set
   number of days. Send a written demand with your move-out photos, then file in small claims if he refuses.
G: Check your state's security deposit statute. Many states limit deductions to damage beyond ordinary wear and
   require itemized receipts, and some award extra damages if the landlord withholds in bad faith. A demand letter
   citing the law often gets the money back without court.
W: Landlords can keep the deposit for any reason once you've moved out, that's what it's for. There's nothing you
   can do, so just accept it and move on.

Q: I quit my job three weeks ago and my former employer still hasn't paid my final paycheck. They keep saying it's
   coming. What can I do? (US)
G: Most states set a deadline for final pay, often the next regular payday or sooner. Gather your pay stubs and
   records of the hours you worked, then file a wage claim with your state labor department. It's free, and
   employers often pay quickly once the state contacts them.
G: Send a short written request with the amount you're owed and a deadline, and keep a copy. If that doesn't work,
   file a claim with your state's labor or wage agency. Some states add penalties for every day final pay is late.
W: Employers are allowed to hold a final paycheck for up to a year as a standard policy. Calling the labor
   department would just make them angry, so keep waiting.

Q: A storm knocked my neighbor's tree onto my fence. My neighbor says it's my problem. Who usually pays for this?
   (US)
G: Generally, if a healthy tree falls in a storm, it's treated as an act of nature and each owner's insurance covers
   damage on their own property. If the tree was visibly dead or diseased and the neighbor knew, they may be liable
   for negligence. Talk to your insurer and document the tree's condition.
G: It depends on whether the neighbor was negligent. A healthy tree blown over by wind is usually your own
   homeowner's claim. If you can show the tree was obviously dead and they were warned, you may be able to recover
   from them or their insurer.
W: The owner of the tree always pays for everything it damages, no exceptions. Just send your neighbor the bill, and
   if they don't pay, you can legally cut down the rest of their trees.

Q: I bought a used car from a private seller "as is," and the transmission died a week later. Do I have any options?
   (US)
G: With a private as-is sale, your options are usually limited, because as-is means no warranty. The exception is if
   the seller lied about a known problem, for example saying the transmission was just rebuilt when it wasn't.
   Gather texts and the ad, and consider small claims if you have evidence of misrepresentation.
G: Lemon laws mostly cover new cars and dealers, not private sales. Unless you can show the seller knowingly
   misrepresented the car's condition, as-is generally means the risk is yours. A mechanic's written opinion on how
   long the problem existed can help.
W: Every used car comes with a mandatory 90-day warranty by federal law, even from private sellers. The seller has
   to pay for a new transmission.

Q: My roommate moved out two months before our lease ends and stopped paying her half. The landlord wants the full
   rent from me. Is that legal? (US)
G: Probably yes. Most leases with multiple tenants make you jointly and severally liable, meaning the landlord can
   collect the full rent from either of you. You can then try to recover her share in small claims court. Keep
   records of what you paid.
G: If you're both on the lease, the landlord can usually hold you responsible for the whole amount. Ask if the
   landlord will let you find a replacement tenant, and separately pursue your former roommate for her half.
W: The landlord can only charge you for your own half, since your roommate's share is legally her problem alone.
   Just keep paying half and ignore the rest.

Q: I paid a contractor a $3,000 deposit for a kitchen remodel and he stopped answering my calls. Nothing has been
   done. What can I do? (US)
G: Send a formal written demand for the work or a refund by a specific date, by certified mail. Check whether he's
   licensed with your state's contractor board, because you can file a complaint there and some states have recovery
   funds or require contractor bonds. Small claims court is the next step.
G: Document everything: the contract, payment receipts, and your attempts to contact him. Then file complaints with
   the state licensing board and consider small claims. If he's bonded, you may be able to claim against the bond.
W: Once you pay a deposit, the contractor is legally allowed to keep it even if he never starts. That's why deposits
   exist, so there's no point pursuing it.

Q: My boss fired me after I told a coworker how much I make. Can they fire you for talking about salary? (US)
G: For most private-sector, non-supervisory employees in the US, discussing pay with coworkers is protected under
   the National Labor Relations Act. Firing you for it may be illegal. You can file a charge with the National Labor
   Relations Board, usually within six months, and talking to an employment lawyer is worthwhile.
G: Generally no. Federal labor law protects most workers' right to discuss wages, and several states add their own
   protections. Write down what happened and when, then contact the NLRB or an employment attorney.
W: Yes, salary is confidential company information, and sharing it is a legal reason to fire you in every state. You
   should have read your handbook.

Q: A local business is using photos I took on their website without asking me. What can I do about it?
G: You automatically own the copyright to photos you took. You can send the business a written request to remove
   them or pay a licensing fee, and you can send a DMCA takedown notice to their web host. If you registered the
   copyright, you may have stronger options in court.
G: Start with a polite but firm email asking them to take the photos down or pay for a license. If they ignore you,
   a DMCA takedown to their hosting provider usually gets them removed quickly. Keep screenshots as evidence.
W: Once a photo is posted online it becomes public domain, so anyone can use it. There's nothing you can do about it
   legally.

Q: An airline lost my checked bag on an international flight and it's been five days. How do I get compensation?
G: File a lost baggage report at the airport if you haven't, and keep the reference number. Keep receipts for
   essentials you buy, since airlines usually reimburse reasonable interim expenses. On international flights, the
   Montreal Convention sets liability limits and deadlines, so submit your written claim promptly.
G: Make sure you have a file reference, then send a written claim listing the bag's contents and your expenses.
   Airlines typically declare a bag lost after about 21 days, after which you can claim its value up to the treaty
   limit. Check if your credit card also covers delayed baggage.
W: Airlines aren't responsible for bags on international flights, only domestic ones. You'll have to buy travel
   insurance next time, because there's nothing they owe you now.

Q: I got a letter from a debt collector about a debt I don't recognize at all. Should I just pay it to make it go
   away? (US)
G: Don't pay or admit anything yet. Under the FDCPA you can send a written debt validation request within 30 days,
   and the collector has to show the debt is yours and the amount is right. Check your credit reports for the
   account and dispute it there if it's not yours.
G: Ask for validation in writing first. Collectors sometimes chase the wrong person or old debts. Keep copies of
   everything, and don't give bank details over the phone. If it's not your debt, dispute it with the credit bureaus
   too.
W: Always pay right away, even if it's not yours. Debt collectors can send you to jail if you ignore them, and
   disputing it will only make things worse.

@askengineers
Q: Why are manhole covers almost always round instead of square?
G: A round cover can't fall through its own opening, because its diameter is the same in every direction. A square
   cover can slip through diagonally. Round covers also don't need to be rotated to fit, and they can be rolled,
   which helps since they're very heavy.
G: Mainly safety: a circle can't drop into a slightly smaller circular hole no matter how you turn it. It also makes
   manufacturing and installation easier, and round shafts resist the pressure of the surrounding soil well.
W: They're round because it uses less metal than a square, and metal is the most expensive part. Otherwise a square
   would work exactly the same.

Q: Why do bridges have those metal grated gaps in the road surface? They make a clunking noise every time I drive
   over one.
G: Those are expansion joints. Bridge decks expand in summer heat and contract in cold, and a long steel or concrete
   span can change length by several centimeters or more. The joints let it move without cracking or pushing against
   the abutments.
G: Thermal expansion. Materials grow when they warm up, and over the length of a bridge that adds up. Without
   joints, the stresses would crack the deck or buckle it. The clunk is just your tires crossing the gap.
W: They're drainage grates for rainwater. Bridges can't have normal drains, so the gaps let water fall straight
   through.

Q: Why do high-voltage power lines hum or buzz, especially in wet weather?
G: Part of it is corona discharge: the strong electric field around the conductor ionizes the air, which makes a
   crackling, buzzing sound. It's worse in humid or rainy weather because water droplets on the line concentrate the
   field. Transformers also hum at twice the grid frequency because of magnetostriction.
G: The buzz is mostly corona, small electrical discharges into the air around the wires, and rain makes it louder.
   The steady hum near substations comes from transformer cores vibrating at 100 or 120 Hz.
W: The humming is the sound of electrons rubbing against the inside of the wire. Wet weather makes the wire
   slippery, so they move faster and get louder.

Q: Why are airplane windows rounded instead of square like house windows?
G: Sharp corners concentrate stress. A pressurized fuselage flexes with every flight, and square corners become
   spots where fatigue cracks start. Rounded windows spread the stress evenly. This was learned the hard way in the
   1950s with the de Havilland Comet.
G: Rounded corners avoid stress concentrations. The cabin is pressurized and depressurized on every flight, and
   cracks start at sharp corners under that repeated loading. Rounded openings make the structure much more fatigue
   resistant.
W: Rounded windows are just a style choice that airlines like because they look modern. Older planes had square
   windows and they worked exactly the same.

Q: How do engineers decide what safety factor to use? Why not just make everything ten times stronger than needed?
G: It depends on how well the loads and materials are understood and what happens if something fails. Codes set
   minimums for each field. Aircraft use low factors like 1.5 because weight is critical and everything is tested
   heavily, while things like elevator cables use much higher ones. Ten times stronger would mean too much weight
   and cost.
G: Safety factors balance uncertainty against cost and weight. Where loads are predictable and parts are inspected,
   factors are lower. Where failure is catastrophic or conditions are unknown, they're higher. Over-designing
   everything makes products heavy and expensive.
W: Every engineer uses a safety factor of exactly 2 for everything. It's a universal rule from the government, and
   using anything else is illegal.

Q: Why do skyscrapers sway in the wind? Wouldn't it be safer to make them completely rigid?
G: A perfectly rigid tall building would need enormous amounts of material, and some flexibility helps it absorb
   wind and earthquake energy. Engineers limit the sway for comfort, often using damping systems like tuned mass
   dampers, which are huge weights that move opposite the building's motion.
G: Flexibility is part of the design. Tall buildings bend slightly to dissipate energy rather than resisting every
   force rigidly. Dampers reduce the motion so occupants don't feel seasick.
W: Swaying means the building has a structural defect. Properly built skyscrapers don't move at all, and if you feel
   movement you should report it.

Q: I'm six months into my first engineering job and I just found a mistake in a drawing I released last month. Parts
   are already being made. How bad is this and what should I do?
G: Tell your lead right away, today. Everyone makes mistakes early on, and what matters is catching it fast. Bring
   the details: what's wrong, which parts are affected, and a proposed fix if you have one. Going through the proper
   change process now is far better than someone else finding it later.
G: Own it immediately and be specific. Managers care much more about how you handle errors than the error itself.
   Then ask how the mistake got through review, because fixing the process protects everyone.
W: Keep quiet and hope nobody notices. If it comes up later, you can say the shop misread the drawing. Admitting
   mistakes this early will hurt your career.

Q: Why do most cars use four-stroke engines instead of two-stroke engines? Aren't two-strokes simpler and more
   powerful for their size?
G: Two-strokes are simpler and powerful for their size, but they're less fuel efficient and much dirtier. Many burn
   oil mixed into the fuel, and some of the fresh fuel escapes out the exhaust. Emissions rules and fuel economy
   made four-strokes the standard for cars.
G: Four-strokes have separate intake and exhaust strokes, which makes combustion cleaner and more efficient.
   Two-strokes lose unburned fuel during scavenging and need oil in the fuel, so they can't meet modern emissions
   standards easily.
W: Two-stroke engines were banned worldwide because they're too dangerous and tend to explode. That's the only
   reason cars use four-strokes.

@askhistorians
Q: Is it true that people in the Middle Ages drank beer instead of water because water wasn't safe?
G: That's largely a myth. Medieval people drank water regularly, and many towns invested in wells, springs, and
   conduits. Weak ale was a common everyday drink and a source of calories, but it was a food staple, not a
   replacement for water. Sources do complain about bad water, which shows people cared about clean water.
G: Historians have pushed back on this. There are plenty of medieval references to drinking water and to efforts to
   supply clean water. Small beer was popular and nutritious, but people didn't avoid water entirely.
W: Yes, nobody in the Middle Ages drank water at all. Water was considered poison, and even children drank strong
   beer with every meal from birth.

Q: Did Vikings actually wear helmets with horns on them?
G: No. There's no evidence that Viking warriors wore horned helmets in battle. The one well-preserved Viking Age
   helmet, found in Norway, has no horns. The image mostly comes from 19th-century art and costume designs for
   Wagner's operas.
G: The horned helmet is a 19th-century invention, popularized by Romantic painters and opera costumes. Some much
   older Bronze Age ceremonial helmets had horns, but they weren't used by Vikings.
W: Yes, all Vikings wore horned helmets. The horns were used in battle to ram enemies, and each horn showed how many
   battles the warrior had won.

Q: Why did the Roman Empire split into an eastern and a western half?
G: The empire was huge and hard to govern from one place, facing threats on several frontiers at once. Diocletian
   divided administration among several emperors in the late 200s, and after Theodosius I died in 395 it was
   permanently divided between his sons. The halves then developed on different paths.
G: It was mostly administrative. One emperor couldn't manage crises on the Rhine, Danube, and Persian frontiers
   simultaneously, so power was shared. The division became lasting in 395, with the wealthier East surviving for
   another thousand years.
W: The empire split because of a civil war between two brothers who each wanted Rome, so they built a wall down the
   middle of Italy to separate their halves.

Q: How did people keep track of time before mechanical clocks were invented?
G: They used sundials during the day, water clocks that measured time by flowing water, and candles or incense
   marked to burn at a known rate. In medieval Europe, monastery bells rang at set prayer times and ordered the day
   for the surrounding community.
G: Sundials, water clocks, hourglasses, and marked candles all measured time. Many societies also divided the day
   into unequal hours that changed with the seasons. Precise minutes mattered much less to daily life than they do
   now.
W: They didn't, really. People had no concept of hours or time of day before clocks, and they just woke up and went
   to sleep with the sun.

Q: Was Napoleon really as short as everyone says?
G: Not really. He was about 5 feet 7 inches, roughly average for a Frenchman of his time. The myth comes partly from
   confusion between French and English inches, since French inches were longer, and partly from British cartoons
   mocking him as tiny.
G: He was around 168 to 170 centimeters, which was normal then. His recorded height in French units got
   mistranslated, and British propaganda made the most of it. His nickname "le petit caporal" was a term of
   affection, not a description of his height.
W: Yes, he was only about 4 feet 9 inches tall, which is why he was so aggressive. His soldiers had to carry a box
   for him to stand on during speeches.

Q: How were letters delivered in the 1700s, before stamps and post offices like we have today?
G: Many countries did have postal systems, often run by the state, with post riders and coaches carrying mail along
   post roads between towns. Usually the recipient paid the postage based on distance and the number of sheets.
   Merchants and the wealthy also used private couriers.
G: Mail moved along established post routes by horse riders and coaches, and ships carried it overseas. Postage was
   typically paid on delivery rather than in advance. Prepaid stamps only appeared in 1840 with Britain's Penny
   Black.
W: Letters weren't delivered at all in the 1700s. If you wanted to send a message, you had to walk there yourself,
   because no postal service existed anywhere.

Q: Why was the Great Wall of China built, and was it all built at once?
G: It was built over many centuries by different dynasties, mainly to defend against raids by nomadic groups from
   the north and to control trade and movement. Early walls date back over two thousand years, but much of what
   tourists see today was built during the Ming dynasty.
G: Not at once. Various states and dynasties built and rebuilt walls over roughly two millennia. The best-known
   brick and stone sections are Ming, from the 1300s to 1600s, built to guard against northern raids.
W: It was built in a single year by one emperor who wanted a wall that could be seen from the Moon, and it was
   finished exactly as it stands today.

Q: What did sailors eat on long ocean voyages in the 1700s?
G: Mostly preserved food: hardtack biscuits, salted beef and pork, dried peas, oatmeal, cheese, and beer or grog.
   Fresh food ran out quickly. Scurvy was a major problem on long voyages until navies gradually adopted citrus
   juice and better provisioning.
G: Sailors lived on salted meat, ship's biscuit, dried legumes, and alcohol rations, with fresh food taken on at
   each port. The lack of vitamin C caused scurvy, which the Royal Navy eventually tackled with lemon juice.
W: Sailors mostly ate fresh fish they caught each day, along with fruit they grew on deck, so they actually had a
   healthier diet than people on land.

@askvet
Q: How often should I trim my dog's nails? He hates it and I never know when it's time.
G: Most dogs need a trim every three to four weeks, but it depends on how much they walk on hard surfaces. A good
   sign is clicking on the floor when he walks. Short, frequent trims are easier, and pairing them with treats helps
   a lot. A groomer or vet tech can show you where the quick is.
G: If you hear nails clicking on hard floors, they're too long. For many dogs that's every few weeks. Trim a little
   at a time so the quick recedes, and give treats generously. A nail grinder can be less stressful for some dogs.
W: Dogs never need their nails trimmed. Walking wears them down naturally, and cutting them is painful and
   unnecessary.

Q: My cat keeps scratching the side of my couch even though she has a scratching post. How do I get her to stop?
G: Put a sturdy, tall scratching post right next to the couch spot she likes, since cats like to scratch where they
   spend time. Many prefer sisal posts that don't wobble. Cover the couch area with double-sided tape or a throw for
   a while, and reward her with treats when she uses the post.
G: Scratching is normal and needed, so the goal is redirecting it. Try a different post style (vertical vs.
   horizontal, sisal vs. cardboard), put it by the couch, and make the couch less appealing with tape. Regular nail
   trims help too.
W: Cats scratch furniture out of spite because they're mad at you. Yell at her every time she does it and she'll
   learn to respect the couch.

Q: How much should I be feeding my new puppy? The bag says one thing and the breeder said another.
G: Use the feeding guide on the bag as a starting point based on expected adult size and current weight, split into
   three or four meals for young puppies. Then adjust based on body condition: you should feel ribs easily but not
   see them sticking out. Your vet can check at the next visit.
G: Both are estimates. Weigh the puppy regularly, follow the bag's chart for that weight, and adjust if he looks too
   thin or too round. Puppies grow fast, so the amount will change every few weeks.
W: Puppies self-regulate perfectly, so just keep the bowl full all day and let him eat as much as he wants. They
   never overeat.

Q: My dog is terrified of fireworks and thunderstorms. She shakes and hides for hours. Is there anything I can do?
G: Give her a safe, quiet den, like a covered crate or interior room, and play white noise or music to mask the
   booms. Stay calm and let her come to you for comfort. For predictable events like holidays, talk to your vet
   ahead of time about anxiety medication and desensitization training.
G: Start desensitization when it's calm by playing recorded thunder at a very low volume with treats, slowly
   increasing over weeks. A snug wrap helps some dogs. For severe fear, your vet can prescribe situational
   medication.
W: Make her stay outside during the next storm so she gets used to it. Facing her fear head on is the fastest way to
   cure it.

Q: My cat keeps bringing dead mice to my door. Why does she do this?
G: It's natural hunting behavior. Cats often bring prey back to a place they consider safe, which is their home.
   Some people think they're teaching or sharing, but the simplest explanation is instinct. Regular play with wand
   toys can satisfy some of that hunting drive.
G: She's bringing her catch back to her territory. It's normal for outdoor cats and not a sign of illness. If you'd
   like less of it, keep her in at dawn and dusk when rodents are active, and give her plenty of play.
W: It means your cat is sick and trying to get your attention. Cats only hunt when something is wrong with their
   diet, so take her to the vet right away.

Q: My 12-year-old dog sleeps almost all day now. Is that normal for a senior dog?
G: Senior dogs often sleep 16 to 18 hours a day, so more sleep by itself is usually normal. Watch for other changes,
   like eating less, drinking much more, stiffness, confusion, or trouble getting up, and mention them to your vet,
   since some age-related conditions are treatable.
G: More sleep is common with age. What matters is whether he still enjoys walks, eats normally, and seems himself
   when awake. A senior checkup once or twice a year helps catch problems like arthritis or thyroid issues early.
W: Sleeping a lot means your dog is depressed. The best fix is to get a second dog right away so he has company and
   stays awake.

@askcarguys
Q: My brakes have started squealing when I come to a stop. The car stops fine. Is this something to worry about?
G: Many brake pads have a small metal wear indicator that squeals when the pads are getting thin, so it's often a
   sign they're due for replacement. Have the brakes inspected soon. If it turns into grinding, the pads may be worn
   to the metal and can damage the rotors.
G: It could be worn pads, glazed pads, or just dust or surface rust, especially if it's worst in the morning. Get
   the pad thickness checked. Replacing pads early is much cheaper than replacing rotors later.
W: Squealing is just the tires, not the brakes. It means your tire pressure is too high, so let some air out and
   it'll go away.

Q: My check engine light came on but the car seems to drive completely normally. Should I be worried?
G: Get the code read. Many auto parts stores will scan it for free, or you can buy an inexpensive OBD-II reader. The
   cause could be as simple as a loose gas cap or as serious as a misfire. If the light is flashing, that indicates
   a severe misfire, so stop driving and get it checked.
G: A steady light means the computer logged a fault. Read the code first, then decide. Common causes are a loose gas
   cap, an oxygen sensor, or a small evaporative leak, but ignoring it can let a small problem become an expensive
   one.
W: The check engine light just means the car is due for an oil change. Change the oil and it will turn off by
   itself.

Q: How often do I really need to change my oil? The shop says every 3,000 miles, but my friend says that's outdated.
G: Your friend is mostly right. Follow your owner's manual, which for many modern cars using synthetic oil is
   somewhere between 5,000 and 10,000 miles, or once a year. Use the severe-service schedule if you do lots of short
   trips, towing, or dusty driving.
G: The 3,000-mile rule dates back to older oils and engines. Check the manual or the car's oil life monitor. Shops
   often recommend shorter intervals because it brings you in more often.
W: You never need to change synthetic oil. It lasts the life of the engine, so just top it up when it gets low.

Q: Is it worth putting premium gas in my car? The manual says regular is fine, but I figure better gas can't hurt.
G: If your manual says regular, premium won't make a noticeable difference. Octane measures resistance to knocking,
   not energy or cleanliness, and your engine is tuned for regular. You'd just be paying more. Use premium only if
   it's required or recommended for your engine.
G: Higher octane only helps engines designed for it, like high-compression or turbocharged ones. All major gas
   brands contain detergents, so premium doesn't clean your engine better. Save the money.
W: Premium gas has more energy per gallon, so you'll get at least 20 percent better mileage and more horsepower in
   any car.

Q: My car battery keeps dying overnight, even though it's only two years old. What could be draining it?
G: That sounds like a parasitic draw, something using power while the car is off, like a glovebox or trunk light
   that stays on, an aftermarket accessory, or a faulty module. A shop can test the draw with a multimeter. Also
   have the battery and alternator tested, since a weak charging system causes similar symptoms.
G: Have the battery load tested and the alternator output checked first. If both are fine, a mechanic can measure
   the current draw with the car off and pull fuses one at a time to find the circuit that's draining it.
W: Batteries only last about two years, so it's just worn out. Buy a new one and don't bother checking anything
   else.

Q: My front tires are wearing out on the inside edges much faster than the rest of the tread. What causes that?
G: Uneven wear on the inside edges usually points to an alignment problem, often too much negative camber or
   incorrect toe. Worn suspension parts like ball joints or bushings can also cause it. Get an alignment check and
   have the suspension inspected.
G: That pattern is classic misalignment. Get a four-wheel alignment and ask the shop to check for worn suspension
   components, because a bad part can pull it back out of alignment. Rotating tires regularly also evens out wear.
W: Inside edge wear means your tires are overinflated. Let out about ten psi and the wear will even out.

Q: Do I need to warm up my car for ten minutes in winter before driving? My dad always did.
G: Not with a modern fuel-injected car. About 30 seconds to a minute is enough for the oil to circulate, then drive
   gently for the first few minutes, which warms the engine faster than idling. Long idling wastes fuel. Older
   carbureted cars needed more warm-up, which is where the habit comes from.
G: Your dad's habit comes from carbureted engines. Modern engines manage fuel themselves, so start it, clear the
   windows, and drive easy. The engine and transmission warm up faster while moving.
W: Yes, always idle for at least 15 minutes. Driving a cold engine even a short distance can crack the block.

Q: My steering wheel shakes when I drive on the highway, but only above about 60 mph. What could that be?
G: Shaking that shows up at a particular highway speed is most often an out-of-balance front tire. A tire shop can
   rebalance the wheels cheaply. If that doesn't fix it, check for a bent wheel, uneven tire wear, or worn
   suspension parts.
G: Start with a wheel balance. Speed-specific vibration is classic imbalance, often from a lost wheel weight. If it
   shakes mainly while braking, it could be warped rotors instead.
W: Steering wheel shaking means the engine is about to fail. You need to replace the engine mounts and probably the
   engine itself.

@askacademia
Q: I'm an undergrad and want to get into research. How do I email a professor about joining their lab without
   sounding clueless?
G: Keep it short and specific. Read one or two of their recent papers and say briefly what interested you, mention
   relevant classes or skills, and ask if they have any openings for undergraduates. Attach a CV or transcript. If
   they don't reply in a week or two, a polite follow-up is fine.
G: Professors get lots of generic emails, so show you've looked at their work. Three or four sentences on why their
   lab, what you can contribute, and how many hours you have. Ask if you could meet to talk. Grad students in the
   lab are also great people to ask.
W: Send the same long email to every professor in the department at once. Tell them you're passionate and will do
   anything, and don't bother reading their research.

Q: My PhD advisor takes weeks to respond to my emails and I keep getting stuck. How do I handle this without
   damaging the relationship?
G: Ask for a short regular meeting, even 30 minutes every two weeks, so you're not relying on email. Make your
   emails easy to answer: put the question in the first line, give options, and suggest a default if you don't hear
   back by a date. Lean on other lab members and committee members for smaller questions.
G: Many advisors are simply overloaded. Send concise emails with clear yes or no questions, and bring a written
   agenda to meetings. If it's seriously blocking you, talk to your graduate program director for advice.
W: Just stop doing any work until they respond. Advisors need to learn that you're waiting, and they'll speed up
   once they notice your progress has stopped.

Q: I'm in the first year of a PhD and I'm pretty sure it's not for me. Is it a bad idea to leave? I feel like I'd be
   a failure.
G: Leaving is common and not a failure. Many programs let you leave with a master's degree. Talk to your advisor or
   a trusted faculty member, and also the career office about options. Make sure the problem is the PhD itself and
   not a fixable issue like a bad advisor match or burnout.
G: Plenty of people leave after the first year and do great. Take some time to figure out what specifically isn't
   working. If it's the career path itself, leaving early costs you much less than leaving in year four.
W: You can never leave a PhD. Quitting gets you blacklisted from all future jobs and grad programs, so you have to
   finish no matter what.

Q: I have to read dozens of papers for my literature review and it takes me hours per paper. How do people read
   papers efficiently?
G: Don't read papers front to back. Start with the title, abstract, figures, and conclusion to decide if it's
   relevant. Only read the methods and results in detail for papers central to your work. Take a few notes per paper
   right away, such as the question, method, and key finding.
G: Skim in passes. A first pass of five or ten minutes tells you whether a paper matters. A second pass for the
   important ones focuses on figures and the main argument. Keep a reference manager and short summaries.
W: You have to read every word of every paper, including all the references, or you're not doing it right. Speed
   reading is cheating.

Q: Reviewer 2 absolutely tore apart my first journal submission. Some comments seem unfair. How should I respond?
G: Take a day before responding. Then write a point-by-point response that quotes each comment and explains what you
   changed or, politely, why you didn't. Thank the reviewers even for tough comments. Where a comment is unfair,
   respond with evidence calmly, since the editor reads it too.
G: Harsh reviews happen to everyone. Separate valid criticisms from misunderstandings, and fix the text where a
   reviewer misread it, since others might too. Keep the tone polite and factual, and ask your advisor or coauthors
   to read your response.
W: Write back to the editor and point out that reviewer 2 is clearly incompetent. Editors respect authors who stand
   up for themselves.

Q: Should I take a gap year or two before applying to grad school, or go straight in from undergrad?
G: Both paths are fine. A gap year spent in research, industry, or a related job can make your application stronger
   and help you confirm you really want grad school. If you have strong research experience and clear goals already,
   going straight in works too.
G: Many successful grad students took time off. Working as a research assistant or technician gives you experience
   and better recommendation letters. The important thing is having a clear reason for going, not the timing.
W: Taking any time off means admissions committees will assume you're not serious. You have to apply during your
   junior year or you'll never get in.

@askhr
Q: I just got a job offer, but the salary is lower than I hoped. How do I negotiate without risking the offer?
G: Thank them, say you're excited, and ask if there's flexibility on salary. Give a specific number backed by market
   data for the role and location. Most employers expect negotiation and rarely withdraw an offer over a polite
   request. If salary is fixed, ask about a signing bonus, extra vacation, or an earlier review.
G: Research market ranges, then respond warmly with a specific counter and a short reason. Keep it collaborative,
   not demanding. A polite, reasonable counter almost never costs you the offer.
W: Tell them you have three other offers for much more money even if you don't. Employers always believe it, and
   bluffing is the only way to get paid fairly.

Q: I was rejected after a final-round interview. Is it okay to ask for feedback, and how should I word it?
G: Yes, it's fine. Send a short, polite email thanking them for their time, saying you're still interested in the
   company, and asking if they could share any feedback to help you improve. Many companies won't give detailed
   feedback for legal reasons, so don't take silence personally.
G: Keep it brief and gracious. Thank the interviewer, ask if there's anything you could do better, and say you'd
   like to be considered for future roles. Some will reply, and it leaves a good impression either way.
W: Don't ask for feedback. Instead, call the hiring manager and ask them to reconsider, since persistence is the
   best way to change a decision.

Q: My manager asked me to stay late a few nights a week, but I'm hourly and they said it'll be "off the clock." Is
   that normal? (US)
G: No, that's not allowed. Under the Fair Labor Standards Act, non-exempt hourly employees must be paid for all
   hours worked, and overtime after 40 hours a week. Keep your own record of the hours you work. You can raise it
   with HR or file a complaint with the Department of Labor's Wage and Hour Division.
G: Working off the clock as an hourly employee is a wage violation. Track your actual hours, and politely say you
   can stay if the time is recorded. If it continues, contact HR or your state labor department.
W: That's normal and legal. Hourly workers have to put in unpaid hours if the manager asks, and refusing is a
   fireable offense.

Q: How much notice should I give when I quit? My contract doesn't say anything, but my manager is going to be upset.
G: Two weeks is the standard in the US when nothing is specified. Put it in writing, offer to help with the
   handover, and keep it professional. Your manager may be disappointed, but that's part of the job, and a good
   transition plan helps a lot.
G: If there's no requirement, two weeks is customary. Senior roles sometimes give more to ease the transition. Give
   notice in a short meeting, follow up in writing, and document your work.
W: You don't need to give any notice. Just stop showing up, since they would fire you without notice anyway.

Q: A coworker keeps presenting my ideas in meetings as if they were theirs. How should I handle it?
G: Document your ideas in writing before meetings, such as in emails or shared documents with timestamps. When it
   happens, calmly say in the meeting, "Glad you liked the idea I shared on Tuesday, here's how I'd build on it." If
   it keeps happening, talk to the coworker privately, then your manager.
G: Get ahead of it by sharing your ideas with your manager or the group in writing first. Speak up early in
   meetings. If needed, have a direct, calm conversation with the coworker before escalating.
W: Start taking credit for their ideas too. That's how office politics works, and it will teach them a lesson.

Q: I worked at a job for only three months before leaving. Do I have to include it on my resume?
G: No, a resume isn't a legal document and you can choose what to include. Leaving off a short job is common,
   especially if it's not relevant. Be honest if asked directly about gaps, and note that formal job applications or
   background checks may ask you to list all employers.
G: You can leave it off. If it creates a noticeable gap, have a short honest explanation ready. Do list it on any
   application that explicitly asks for all previous employment.
W: You should change the dates on your resume so the job looks like it lasted two years. Nobody ever checks
   employment dates.
"""

# Openers and closers that wrap a question into a post.
PREFIXES = [
    "Sorry if this is a dumb question.",
    "Long-time lurker, first post here.",
    "Hopefully this is the right place to ask.",
    "Something I've wondered about for a while.",
    "Quick question for the people who know this stuff.",
    "This came up in conversation with friends and nobody knew.",
]
DOMAIN_PREFIXES = {
    "askculinary": ["Home cook here, mostly self-taught.", "I've been cooking a lot more since I moved out."],
    "askbaking": ["Hobby baker here.", "I started baking last winter and I'm hooked."],
    "askscience": ["This came up at dinner and nobody could agree.", "I'm not a scientist, so keep it simple please."],
    "askphysics": ["Not a physicist, just curious.", "I'm taking intro physics and this confuses me."],
    "explainlikeimfive": ["I've read a few explanations and none of them clicked."],
    "legaladvice": ["Throwaway for privacy."],
    "askengineers": ["Not an engineer, just curious.", "Engineering student here."],
    "askhistorians": ["I've seen this claim repeated a lot online."],
    "askvet": ["First-time pet owner here."],
    "askcarguys": ["Not a car person at all, so bear with me."],
    "askacademia": ["Throwaway because my department knows my main."],
    "askhr": ["Throwaway account."],
}
SUFFIXES = [
    "Thanks in advance!",
    "Any help is appreciated.",
    "Would love a clear explanation.",
    "Thanks for reading.",
    "Edit: thanks for all the answers so far!",
]

# Openers some commenters put before their answer (helpful and wrong answers alike).
ROLES = {
    "askculinary": ["Former line cook here.", "Chef here."],
    "askbaking": ["Pastry cook here.", "Baker for many years here."],
    "askscience": ["Science teacher here."],
    "askphysics": ["Physics teacher here.", "Physicist here."],
    "explainlikeimfive": ["Okay, simple version."],
    "legaladvice": ["Not your lawyer, but here's the general picture."],
    "askengineers": ["Mechanical engineer here.", "Civil engineer here."],
    "askhistorians": ["Good question."],
    "askvet": ["Vet tech here."],
    "askcarguys": ["Mechanic here."],
    "askacademia": ["Professor here.", "Postdoc here."],
    "askhr": ["HR manager here."],
}

# Generic bad comments, usable under any question. Lengths vary so that length says nothing about quality.
SNARK = [
    "Did you try searching this sub before posting? This exact question gets asked about twice a week and the"
    " answers never change.",
    "Imagine writing a whole post about this instead of spending thirty seconds with a search engine. Wild times we"
    " live in.",
    "I love how every question here starts with a life story. Anyway, no idea, good luck with that.",
    "Not to be rude, but if you have to ask this, maybe this just isn't your thing. Have you considered a different"
    " hobby?",
    "Ah yes, another day, another person who could have answered this themselves with basic curiosity. Truly"
    " inspiring stuff, thanks for sharing.",
    "This is literally in the sidebar and the FAQ. Reading is free, you know, and so is scrolling down a little bit.",
    "Wow, what a groundbreaking question. Nobody in history has ever wondered about this before. Please, tell us more"
    " about your journey.",
    "Every week someone posts this exact thing and every week the same people answer it. At this point I'm just here"
    " for the comments.",
    "Oh good, this again. I'm sure the previous five hundred threads on this topic were all wrong and yours will"
    " finally settle it.",
    "You could have asked literally anyone in your life and gotten an answer faster, but sure, let's make it a whole"
    " Reddit post.",
]
JOKES = [
    "Have you tried turning it off and on again? Works for my printer, my car, and most of my relationships, honestly.",
    "The real answer is always the friends we made along the way. Also snacks. Mostly snacks, if I'm being honest.",
    "This is the kind of question my cat would ask if she could type, which is a terrifying thought, so thanks for"
    " that.",
    "Plot twist: the answer was inside you all along. Just kidding, I have no idea, I just wanted to be first in the"
    " thread.",
    "My grandpa would say it's the government's fault. He says that about everything, including the weather and his"
    " knees.",
    "Easy. Just ask your mom. She knows everything and will also remind you that you never call her anymore.",
    "I read the title too fast and thought this was about pizza. Now I'm hungry and still don't know the answer.",
    "Wizards. It's always wizards. Next question please, I have a very busy schedule of scrolling Reddit at work.",
    "Short answer: magic. Long answer: a lot more magic, plus some things I pretended to understand in high school.",
    "I asked my dog and he just stared at me, so I'm going to assume the answer is treats. It's usually treats.",
]
VAGUE = [
    "Honestly it depends on a lot of different factors, so it's hard to say. Everyone's situation is different and"
    " there are pros and cons either way.",
    "There are a bunch of reasons this could happen. It could be one thing or another, or some combination of them."
    " Hard to know without more info.",
    "I've heard different things from different people about this. Some say one thing, some say the other. I'd look"
    " into it more if I were you.",
    "It's complicated and there's no simple answer. You kind of have to experiment and see what works for you in your"
    " specific case.",
    "I think this is one of those things where there isn't really a single answer that works for everyone. Some"
    " people swear by one approach and other people swear by the opposite, and both groups seem pretty happy with"
    " their results. I'd just try a few things and see what feels right, because in the end it's up to you.",
    "So there are a lot of things that go into this, and honestly a lot of it comes down to the details of your"
    " situation, which can vary quite a bit. I've seen cases go one way and cases go the other way, so I wouldn't"
    " want to say for sure. It could be any number of things.",
    "This is a really interesting question and I think about stuff like this all the time. There are definitely a few"
    " different factors at play, and experts probably have a lot to say about it. I don't want to give you the wrong"
    " idea, so I'll just say it's complicated and leave it at that.",
    "Everyone is going to tell you something different here, and that's kind of the point. There's no universal rule"
    " that applies to every case. Weigh the options, think about what matters most to you, and go with whatever"
    " makes the most sense at the time. Good luck, I hope it works out.",
]
OFF_TOPIC = [
    "This reminds me of when my uncle tried to build a treehouse without any plans. He spent the whole summer on it"
    " and it ended up leaning so badly that the neighbors called it the Leaning Tower. He still tells the story at"
    " every family barbecue.",
    "Unrelated, but does anyone know a good podcast for long drives? I have a six-hour trip coming up next month and"
    " I've already listened to everything I normally like. Preferably something funny or history related, nothing"
    " too intense.",
    "Slightly off topic, but this sub has gotten so much better since the new mods took over. A couple of years ago"
    " half the posts were memes and now it's actually useful. Thanks to everyone who keeps it going.",
    "Funny timing, I was just talking about something totally different with my coworker today. We got into a huge"
    " debate about whether a hot dog counts as a sandwich, and it took up our entire lunch break. For the record, it"
    " doesn't.",
    "Does anyone else's phone keep autocorrecting normal words into weird ones lately? I tried to type dinner earlier"
    " and it changed it to sinner, which made for an awkward text to my mom. Sorry, I know that's not the topic.",
    "Not sure about any of this, but it reminds me of my first apartment, which had a radiator that banged all night"
    " like someone was trapped inside it. The landlord swore it was normal. I moved out after a year.",
    "Sort of related: my neighbor just got a new puppy and it howls every night at exactly 3 am. I'm starting to"
    " think it's trying to tell me something. Anyone else have a neighbor pet with a strangely specific schedule?",
    "Random thought, but has anyone else noticed that grocery stores rearrange the aisles right when you finally"
    " learn where everything is? Mine did it three times this year. I spent twenty minutes looking for rice.",
    "Completely unrelated, but your username made me laugh out loud on the train this morning. Thanks for that,"
    " stranger, I needed it.",
    "Not what you asked, but I hope your week gets better. Mondays have been rough for everyone lately, hang in there.",
]
SNARK += [
    "I'm genuinely curious how people get through life without ever typing a question into a search bar. This has"
    " been answered in every beginner guide, every FAQ, and about a thousand threads on this exact sub. But sure,"
    " let's all drop what we're doing and explain it to you personally, again.",
    "Every time I open this sub there's another post like this, and every time the answer is sitting right there in"
    " the pinned thread that nobody reads. I'm not even mad, honestly, I'm impressed by the commitment to not reading"
    " anything. Maybe try scrolling up before posting next time?",
    "Not trying to be mean, but this is exactly the kind of question that makes the regulars here lose their minds."
    " You clearly didn't look anything up, you gave almost no details, and you expect strangers to do the work for"
    " you. Come back when you've at least tried something.",
]
JOKES += [
    "I was going to write a serious answer, but then I remembered the time my roommate tried to fix our toaster with"
    " a butter knife and a video tutorial, and now all I can think about is his face when the fuse blew. Anyway, good"
    " luck, I believe in you more than I believed in him.",
    "The answer is clearly a family of very small raccoons living inside the thing, working tiny levers. That's how"
    " everything works, really. My cousin swears he saw one once. He also swears he saw a ghost at a gas station, so"
    " take that however you want.",
    "Step one: panic. Step two: call your dad. Step three: pretend you knew the answer all along when he explains it."
    " Step four: take full credit at the next family dinner. This system has worked for me for about thirty years and"
    " I see no reason to change it now.",
]
# Overconfident add-ons that make a wrong answer long-winded.
ELABORATIONS = [
    "I've been doing this for fifteen years and it has never failed me once. People love to overcomplicate it, but"
    " it really is that simple, and anyone telling you otherwise is repeating something they read online.",
    "Trust me on this one. I see people get this wrong all the time, and the fancy explanations you'll get in this"
    " thread are mostly overthinking it. Keep it simple and you'll be fine.",
    "My whole family has always done it this way and none of us has ever had a problem. The experts change their"
    " minds every few years anyway, so I wouldn't put much stock in whatever the top comment says.",
    "Honestly I can't believe this is even a debate. It's basic common sense, and the people downvoting this are the"
    " same ones who believe everything they read on the internet without thinking for themselves.",
]
GENERIC_BAD = {"snark": SNARK, "joke": JOKES, "vague": VAGUE, "off_topic": OFF_TOPIC}
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class Question(NamedTuple):
    """One question with two helpful answers and one confidently wrong answer."""

    domain: str
    question: str
    goods: tuple[str, str]
    wrong: str


class Comment(NamedTuple):
    ident: str
    text: str
    score: int
    created: int


def parse_questions(text: str) -> list[Question]:
    """Parse the question records."""
    out = []
    for block in text.split("\n@")[1:]:
        domain, _, body = block.partition("\n")
        for record in body.strip().split("\n\n"):
            fields: list[list[str]] = []
            for line in record.splitlines():
                if line[0].isspace():
                    fields[-1][1] += " " + line.strip()
                else:
                    key, _, val = line.partition(": ")
                    fields.append([key, val.strip()])
            by_key: dict[str, list[str]] = {}
            for key, val in fields:
                by_key.setdefault(key, []).append(val)
            assert sorted(by_key) == ["G", "Q", "W"] and len(by_key["G"]) == 2, record
            out.append(Question(domain.strip(), by_key["Q"][0], (by_key["G"][0], by_key["G"][1]), by_key["W"][0]))
    return out


def words(text: str) -> int:
    return len(text.split())


def new_id(rng: random.Random, length: int, seen: set[str]) -> str:
    while True:
        ident = "".join(rng.choice(ALPHABET) for _ in range(length))
        if ident not in seen and not ident.isdigit():
            seen.add(ident)
            return ident


def histories(rng: random.Random, q: Question) -> list[str]:
    """Two differently worded posts for one question."""
    prefixes = [""] + PREFIXES + DOMAIN_PREFIXES[q.domain]
    suffixes = [""] + SUFFIXES
    out: list[str] = []
    while len(out) < 2:
        text = " ".join(part for part in (rng.choice(prefixes), q.question, rng.choice(suffixes)) if part)
        if text not in out and 20 <= words(text) <= 80:
            out.append(text)
    return out


def with_role(rng: random.Random, domain: str, text: str) -> str:
    return f"{rng.choice(ROLES[domain])} {text}" if rng.random() < 0.3 else text


def pick_bad(rng: random.Random, q: Question, partner: str, used: set[str], kinds: dict[str, float]) -> str:
    """A bad comment, longer or shorter than its partner by a coin flip."""
    want_longer = rng.random() < 0.5
    wrong = with_role(rng, q.domain, q.wrong)
    wrongs = [] if q.wrong in used else [wrong, f"{wrong} {rng.choice(ELABORATIONS)}"]
    pools = {"wrong": wrongs, **GENERIC_BAD}
    for longer in (want_longer, not want_longer):
        options = {}
        for kind in kinds:
            ok = [t for t in pools[kind] if t not in used and (len(t) > len(partner)) == longer]
            if ok:
                options[kind] = ok
        if options:
            names = sorted(options)
            kind = rng.choices(names, [kinds[k] for k in names])[0]
            return rng.choice(options[kind])
    raise AssertionError("no bad comment left")


def log_uniform_int(rng: random.Random, low: float, high: float) -> int:
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def build_post(
    rng: random.Random, q: Question, primary: int, history: str, split: str, n_rows: int, seen: set[str]
) -> list[dict]:
    """Comments and comparison rows for one post."""
    created = rng.randint(1_550_000_000, 1_670_000_000)
    good_main = with_role(rng, q.domain, q.goods[primary])
    good_second = with_role(rng, q.domain, q.goods[1 - primary])
    score_main = log_uniform_int(rng, 10, 700)
    score_second = max(2, int(score_main * rng.uniform(0.55, 0.92)))
    time_second = created + rng.randint(600, 20_000)
    goods = [
        Comment(new_id(rng, 7, seen), good_main, score_main, time_second + rng.randint(300, 40_000)),
        Comment(new_id(rng, 7, seen), good_second, score_second, time_second),
    ]
    pairs: list[tuple[Comment, Comment]] = []  # (preferred, other)
    used = {good_main, good_second}
    n_bad = 0
    for _ in range(n_rows):
        kind = "high"
        if rng.random() < P_LOW_RATIO:
            kind = rng.choices(list(LOW_RATIO_KINDS), list(LOW_RATIO_KINDS.values()))[0]
            if kind == "two_good" and any(p[0] is goods[0] and p[1] is goods[1] for p in pairs):
                kind = "close"
        if kind == "two_good":
            pairs.append((goods[0], goods[1]))
            continue
        partner = goods[n_bad % 2]
        n_bad += 1
        bad_kinds = BAD_WEIGHTS if kind != "flipped" else {"wrong": 0.5, "joke": 0.5}
        text = pick_bad(rng, q, partner.text, used, bad_kinds)
        used.add(text)
        if q.wrong in text:
            used.add(q.wrong)  # at most one wrong answer per post
        if kind == "high":
            score = max(1, min(partner.score // 2, int(partner.score / rng.uniform(2.05, 25))))
        elif kind == "close":
            score = max(1, min(partner.score - 1, int(partner.score * rng.uniform(0.55, 0.9))))
        else:
            score = max(partner.score + 1, int(partner.score * rng.uniform(1.1, 1.8)))
        if score < partner.score:
            bad = Comment(new_id(rng, 7, seen), text, score, rng.randint(created + 60, partner.created - 30))
            pairs.append((partner, bad))
        else:
            bad = Comment(new_id(rng, 7, seen), text, score, partner.created + rng.randint(120, 30_000))
            pairs.append((bad, partner))
    post_id = new_id(rng, 6, seen)
    upvote_ratio = round(rng.uniform(0.6, 1.0), 2)
    rows = []
    for preferred, other in pairs:
        a, b = (preferred, other) if rng.random() < 0.5 else (other, preferred)
        rows.append(
            {
                "post_id": post_id,
                "domain": f"{q.domain}_{split}",
                "upvote_ratio": upvote_ratio,
                "history": history,
                "c_root_id_A": a.ident,
                "c_root_id_B": b.ident,
                "created_at_utc_A": a.created,
                "created_at_utc_B": b.created,
                "score_A": a.score,
                "score_B": b.score,
                "human_ref_A": a.text,
                "human_ref_B": b.text,
                "labels": int(a.score > b.score),
                "seconds_difference": float(preferred.created - other.created),
                "score_ratio": max(a.score, b.score) / min(a.score, b.score),
            }
        )
    return rows


def build(rng: random.Random, questions: list[Question]) -> list[dict]:
    # Held-out questions spread over the domains: each domain's questions in random order, then round-robin.
    by_domain: dict[str, list[int]] = {}
    for index, q in enumerate(questions):
        by_domain.setdefault(q.domain, []).append(index)
    domains = sorted(by_domain)
    rng.shuffle(domains)
    for indices in by_domain.values():
        rng.shuffle(indices)
    depth = max(len(v) for v in by_domain.values())
    order = [by_domain[d][k] for k in range(depth) for d in domains if k < len(by_domain[d])]
    split_of = {}
    for rank, index in enumerate(order):
        if rank < N_VALIDATION_QUESTIONS:
            split_of[index] = "validation"
        elif rank < N_VALIDATION_QUESTIONS + N_TEST_QUESTIONS:
            split_of[index] = "test"
        else:
            split_of[index] = "train"
    seen: set[str] = set()
    posts = []
    for index, q in enumerate(questions):
        for primary, history in enumerate(histories(rng, q)):
            posts.append((q, primary, history, split_of[index]))
    rng.shuffle(posts)
    rows = []
    for rank, (q, primary, history, split) in enumerate(posts):
        n_rows = 3 if rank < N_POSTS_WITH_THREE_ROWS else 2
        rows.extend(build_post(rng, q, primary, history, split, n_rows, seen))
    return rows


def validate(questions: list[Question], rows: list[dict]) -> None:
    for q in questions:
        assert q.domain in DOMAIN_PREFIXES and q.domain in ROLES, q.domain
    for pool in GENERIC_BAD.values():
        for text in pool:
            assert 15 <= words(text) <= 90, text
    split_of_history: dict[str, str] = {}
    comments: dict[str, tuple] = {}
    for r in rows:
        assert 20 <= words(r["history"]) <= 80, r["history"]
        split = r["domain"].rsplit("_", 1)[1]
        assert split_of_history.setdefault(r["history"], split) == split
        for side in "AB":
            assert 15 <= words(r[f"human_ref_{side}"]) <= 90, r[f"human_ref_{side}"]
            key = (r[f"human_ref_{side}"], r[f"score_{side}"], r[f"created_at_utc_{side}"], r["post_id"])
            assert comments.setdefault(r[f"c_root_id_{side}"], key) == key
        assert r["score_A"] >= 1 and r["score_B"] >= 1 and r["score_A"] != r["score_B"]
        assert r["labels"] == int(r["score_A"] > r["score_B"])
        assert r["seconds_difference"] > 0
        assert r["human_ref_A"] != r["human_ref_B"]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def main() -> None:
    rng = random.Random(SEED)
    questions = parse_questions(QUESTIONS)
    rows = build(rng, questions)
    validate(questions, rows)
    write_jsonl(SHP_PATH, rows)
    n_posts = len({r["post_id"] for r in rows})
    print(f"wrote {len(rows)} rows over {n_posts} posts ({len(questions)} questions) to {SHP_PATH}")


if __name__ == "__main__":
    main()
