"""Generate the small built-in summarization datasets (Reddit TL;DR style) shipped with ``perl_lightning``.

This script writes two files next to itself:

* ``comparisons.jsonl`` -- pairwise summary comparisons in the schema of OpenAI's "summarize from feedback"
  comparisons, one JSON object per line::

      {"info": {"id": "t3_...", "post": str, "title": str, "subreddit": str},
       "summaries": [{"text": str, "policy": str, "note": null}, {"text": str, "policy": str, "note": null}],
       "choice": 0 | 1, "worker": "wNN", "batch": "batchN", "split": "train" | "valid1",
       "extra": {"confidence": 1-9}}

  ``choice`` indexes the preferred summary (its position is balanced by a seeded coin flip). 472 comparisons over 160
  posts (2-4 comparisons per post); 15% of the posts, with all of their comparisons, are in split ``valid1`` and the
  rest in ``train`` (there is no ``valid2``). The preferred summary is a faithful one-sentence summary of the post's
  main problem or question. The other one is worse in a consistent way: unfaithful (wrong person, number, place or
  outcome), a summary of a different post, generic and vague, about a side detail instead of the main point, the
  title repeated verbatim, or a rambling copy of the post's opening. Length is not a giveaway: the rejected summary
  is the shorter one in about half of the pairs.
* ``sft.jsonl`` -- 300 posts with a reference summary, in the schema of the TL;DR SFT sets::

      {"id": "t3_...", "subreddit": str, "title": str, "post": str, "summary": str}

  These posts are disjoint from the comparison posts (different ids and different text).

All text was written for this project: Reddit-style first-person posts built from hand-written scenario templates
(several alternatives per sentence) with slot filling for names, numbers and places. No text is copied from a real
dataset. License: Apache-2.0, the same as the ``perl_lightning`` package.

The output is deterministic (``random.Random(0)``); regenerate with::

    python perl_lightning/data/builtin/summarization/make.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
COMPARISONS_PATH = HERE / "comparisons.jsonl"
SFT_PATH = HERE / "sft.jsonl"
SEED = 0
N_COMPARISON_POSTS = 160
N_SFT_POSTS = 300
VALID_FRACTION = 0.15
# Comparisons per post: 3, except for these many posts with 2 and with 4.
N_POSTS_WITH_TWO = 46
N_POSTS_WITH_FOUR = 38
NEAR_AGE = 4

POOLS: dict[str, list[str]] = {
    "AGE": [str(a) for a in range(19, 39)],
    "NAME_F": "Emma Priya Sofia Hannah Maya Chloe Aisha Lena Grace Nina Olivia Zoe Rachel Mei Laura Ines Tara Julia"
    " Camila Freya".split(),
    "NAME_M": "Jake Omar Ben Luis Ethan Daniel Marcus Ryan Tom Arjun Kevin Sam Noah Felix Diego Chris Matt Leo Tyler"
    " Hassan".split(),
    "CITY": "Denver Portland Austin Chicago Toronto Leeds Melbourne Dublin Phoenix Seattle Boston Atlanta Manchester"
    " Calgary Pittsburgh Sacramento Minneapolis".split(),
    "STATE": "Oregon Texas Ohio Colorado Michigan Arizona Virginia Georgia Illinois".split(),
}

# Hand-written pieces appended to some posts (never part of a summary).
FILLERS = [
    "Throwaway because people I know follow my main account.",
    "Sorry for the formatting, I'm on mobile.",
    "Edit: thanks for all the replies so far, I'm reading every one.",
    "Thanks in advance for any advice.",
    "Any input is appreciated.",
    "Edit: a few people asked, and yes, I've already tried searching this sub.",
    "Long-time lurker, first post.",
    "Edit: spelling.",
]

# Generic, vague summaries: short ones and long-winded ones, so length says nothing about quality.
GENERIC = [
    "Person has a problem and needs advice.",
    "OP has an issue and is asking for help.",
    "Something happened and I don't know what to do.",
    "Things are complicated right now and I need advice.",
    "Life is hard sometimes, what should I do?",
    "I have a situation and would like some opinions.",
    "Long post about my life, any advice is welcome.",
    "Someone did something and now there is a problem.",
    "Stuff went wrong, need help.",
    "Not sure what to do, please help.",
    "Need advice about a thing that happened.",
    "Ugh, what a week. Thoughts?",
    "Drama with someone in my life.",
    "Asking for advice on a situation.",
    "This post is about a situation I am dealing with right now, and I explain what happened and then ask everyone"
    " reading for their thoughts and advice.",
    "Basically there is a problem going on and I have tried a few things, but nothing has really worked so far, so I"
    " would like to hear what other people think I should do.",
    "The poster describes some things that have been happening recently and how they feel about it, and then asks"
    " the community for opinions on the best way to handle everything going forward.",
    "A person is going through something difficult and wants to know what other people would do in the same"
    " situation, because they are not sure what the right choice is here.",
    "There is an issue in my life that has been bothering me for a while now, and I am looking for some general"
    " thoughts or suggestions from anyone who has been through something similar.",
    "So there is this whole thing going on that has been stressing me out for a while now, and I finally decided"
    " to write it all down here and see what people think about it.",
    "The author shares a personal story about some recent events that did not go the way they expected and wonders"
    " whether they handled it right and what they should do now.",
    "Pretty much everything in this post is about a problem that came up recently, and I would really appreciate it"
    " if people could read it and tell me honestly what they would do.",
]

POLICIES = "sup1 sup2 sup2_t.7 sup4_6b sup4_ppo_rm3_kl10 ppo_1b_kl05 pretrain_6b_t.7 sup3_1b_t.5".split()

# Weights of the kinds of worse summary.
REJECT_WEIGHTS = {
    "unfaithful": 0.22,
    "other_post": 0.08,
    "generic": 0.18,
    "side_detail": 0.18,
    "title": 0.16,
    "opening": 0.18,
}

# ---------------------------------------------------------------------------------------------------------------------
# Scenario templates. A block starts with "== subreddit". "slots:" lists "name=POOL" or "name=a|b|c"; "T:" a title;
# "P:" one sentence of the post with alternatives separated by " || "; "G:" a good summary (every alternative of every
# sentence supports it); "S:" a faithful summary of a side detail that misses the main point; "W:" "old => new", an
# edit that makes a good summary unfaithful; "X:" slots whose value can be swapped to make a summary unfaithful.
# Indented lines continue the previous line.
# ---------------------------------------------------------------------------------------------------------------------

SCENARIOS = r"""
== relationships
slots: me=AGE; bf=NAME_M; bfage=AGE~me; yrs=two|three|four|five; n=second|third; plan=a small dinner with friends|a
   picnic at the lake|a board game night|a trip to the aquarium|a movie and takeout
T: My ({me}F) boyfriend ({bfage}M) forgot my birthday for the {n} year in a row
T: Boyfriend forgot my birthday again, am I overreacting?
P: I ({me}F) have been with my boyfriend {bf} ({bfage}M) for {yrs} years. || {bf} ({bfage}M) and I ({me}F) have been
   together for {yrs} years and mostly things are great.
P: Yesterday was my birthday and for the {n} year in a row he completely forgot. || My birthday was on Saturday and,
   for the {n} time, he forgot it entirely.
P: I had even mentioned it twice last week and hinted that I'd love {plan}. || I didn't ask for anything big, just
   {plan}, and I reminded him a few days before.
P: When I brought it up he said birthdays are just another day and I'm being dramatic. || When I told him I was
   hurt, he shrugged and said I should have put it in his calendar.
P: He remembers every game his team plays, so it's not that he's bad with dates. || He never misses one of his
   team's games, so he can remember dates when he wants to.
P: Am I overreacting, or is it fair to be this upset? || How do I tell him this matters to me without starting a
   huge fight?
G: Boyfriend of {yrs} years forgot my birthday for the {n} time and brushed off my hurt feelings; am I overreacting?
G: {bf} forgot my birthday again despite my reminders and dismissed it when I was hurt; how do I explain why it
   matters?
S: My boyfriend follows his sports team closely and never misses a game.
S: I wanted {plan} for my birthday this year.
W: forgot my birthday => threw me a surprise party
W: Boyfriend of => Husband of
W: despite my reminders => because I never mentioned it
X: yrs; n

== relationships
slots: me=AGE; gf=NAME_F; gfage=AGE~me; yrs=two|three|four|six; city=CITY; city2=CITY; wk=two|three|four;
   pct=10|15|20|25|30
T: Girlfriend got her dream job in {city2} and wants me to move with her
T: Do I move across the country for my girlfriend's new job?
P: My girlfriend {gf} ({gfage}F) and I ({me}M) have been together {yrs} years and live in {city}. || I'm {me}M, my
   girlfriend {gf} is {gfage}F, and we've lived in {city} for our {yrs} years together.
P: Last week she was offered her dream job in {city2}, and she has to answer within {wk} weeks. || She just got an
   offer for her dream job in {city2} and has {wk} weeks to decide.
P: She wants me to come with her, but my whole family is here and I just got promoted. || She really wants me to
   move with her, but I was just promoted and my family all lives nearby.
P: I could transfer, but it would mean a pay cut of about {pct} percent. || My company has an office in {city2}, but
   I'd lose roughly {pct} percent of my salary.
P: I love her and don't want to hold her back, but I'm scared of resenting her later. || I don't want her to turn it
   down for me, but I'm scared of giving up everything here.
P: How do couples make this kind of decision? || Has anyone been in this spot, and what did you decide?
G: Girlfriend of {yrs} years got her dream job in {city2}; moving would cost me a promotion and {pct}% of my pay.
   How do we decide?
G: {gf} wants me to move to {city2} for her dream job, but I'd give up a new promotion and family nearby; how do
   couples decide this?
S: My family lives near me in {city}.
S: I recently got promoted at my job in {city}.
W: her dream job => a job she doesn't even want
W: Girlfriend of => Wife of
W: wants me to move => refuses to let me move
X: city2; pct; yrs

== relationship_advice
slots: me=AGE; fr=NAME_F; yrs=eight|nine|ten|twelve|fifteen|twenty; guests=40|60|80|120|150|200; place=a
   vineyard|her parents' farm|a hotel downtown|a lake cabin|a botanical garden
T: My best friend of {yrs} years didn't invite me to her wedding
T: Found out through Instagram that I wasn't invited to my best friend's wedding
P: I ({me}F) have known {fr} since we were kids, about {yrs} years now. || {fr} has been my best friend for {yrs}
   years; we were roommates in college.
P: Last weekend she got married at {place} and I found out from photos on Instagram. || This Saturday she got
   married at {place}, and I only found out when the photos showed up on Instagram.
P: There were around {guests} guests, including people she met a year ago. || About {guests} people were there,
   including coworkers she barely talks about.
P: We haven't fought, and we had lunch only a month ago where she mentioned nothing. || We never had a falling out;
   we had coffee three weeks ago and she said nothing.
P: I feel stupid and hurt, and I don't know if I should say something or just let the friendship fade. || Part of me
   wants to ask her why, and part of me wants to quietly step back.
P: Should I confront her? || What would you do?
G: Best friend of {yrs} years got married without inviting me and never mentioned it; should I ask her why or let it
   go?
G: Wasn't invited to my best friend's wedding of {guests} guests and found out on Instagram; do I confront her or
   step back?
S: My best friend got married at {place} last weekend.
S: My best friend and I have known each other for {yrs} years.
W: without inviting me => and asked me to be her maid of honor
W: Best friend of => My cousin of
W: on Instagram => from her mom
X: yrs; guests

== personalfinance
slots: me=AGE; debt=3,200|4,800|6,500|8,900|11,000; apr=19|22|24|27; sav=1,500|2,000|3,000|4,000;
   pay=2,900|3,400|3,800|4,200
T: Should I pay off my credit card or build an emergency fund first?
T: ${debt} in credit card debt and ${sav} saved, what do I do first?
P: I'm {me} and finally getting my finances together after a rough couple of years. || I ({me}) just started
   tracking my spending for the first time and it's been eye-opening.
P: I have ${debt} on a credit card at {apr}% APR. || Right now I owe ${debt} on one credit card with a {apr}%
   interest rate.
P: I also have ${sav} in a savings account that I've been scared to touch. || I have ${sav} sitting in savings,
   which is basically my only cushion.
P: I take home about ${pay} a month and can put roughly $600 toward either goal. || After rent and bills I have
   about $600 a month left from my ${pay} take-home pay.
P: My dad says to dump the savings into the card right away, but that makes me nervous. || A coworker told me to
   never touch savings, but my dad says to wipe out the card now.
P: What's the smart order here? || Which should I prioritize?
G: Have ${debt} of credit card debt at {apr}% and ${sav} in savings; should I pay down the card or keep building an
   emergency fund?
G: With ${debt} on a {apr}% card and ${sav} saved, should I use my savings to pay off the card first?
S: My dad has strong opinions about what I should do with my money.
S: I take home about ${pay} a month.
W: credit card debt => student loan debt
W: on a {apr}% card => on a 0% card
W: in savings => in a retirement account
X: debt; apr; sav

== personalfinance
slots: me=AGE; bro=NAME_M; bage=19|20|21|22; loan=18,000|22,000|25,000|31,000; car=pickup truck|used BMW|new
   Civic|Jeep
T: Parents are pressuring me to co-sign my brother's car loan
T: Should I co-sign a ${loan} car loan for my little brother?
P: My younger brother {bro} ({bage}) wants a ${loan} loan for a {car}. || My brother {bro} is {bage} and has his
   heart set on a {car} that costs about ${loan}.
P: He has no credit history and works part-time at a grocery store. || He works 25 hours a week and has never had a
   credit card, so the bank won't approve him alone.
P: My parents can't co-sign because of their own credit, so they're asking me ({me}). || My parents have bad credit
   themselves, so they keep asking me ({me}) to co-sign instead.
P: I'm saving to buy a house next year and I'm worried this will hurt my chances. || I'm hoping to buy a house next
   year and don't want a big loan on my record.
P: My mom says family helps family and that I'm being selfish. || My mom called me selfish at dinner and now the
   whole family is annoyed with me.
P: Am I wrong to say no? || How do I say no without wrecking things with my family?
G: Parents want me to co-sign my {bage}-year-old brother's ${loan} car loan, but I'm saving for a house; is it wrong
   to refuse?
G: Family is pressuring me to co-sign a ${loan} loan for my brother's {car} while I plan to buy a house; how do I
   say no?
S: My brother has never had a credit card.
S: My parents have bad credit.
W: brother's => sister's
W: saving for a house => saving for a wedding
W: co-sign => pay off
X: loan; bage; car

== tifu
slots: me=AGE; boss=NAME_F; msg=a meme about Monday meetings|a rant about the new parking rules|a photo of my lunch
   with a rude caption|a voice note complaining about the quarterly report|a joke about our office printer;
   n=14|20|35|50; outcome=said it was the funniest thing all week|asked me to keep the chat professional|admitted
   she agreed with me|told me the whole team was laughing
T: TIFU by sending {msg} to my whole team instead of my sister
T: TIFU by mixing up two group chats
P: This happened this morning, and I'm still cringing about it. || Obligatory this happened an hour ago.
P: I meant to send {msg} to my sister, but I sent it to the work group chat with {n} people in it. || I was half
   asleep and sent {msg} to the team chat, all {n} of them, instead of to my sister.
P: My manager {boss} was the first to see it and replied with a single thumbs up. || The first reply was from my
   manager, {boss}, who just wrote 'noted.'
P: I tried to delete it, but the app only let me delete it for myself. || By the time I noticed, it was too late to
   unsend.
P: Later {boss} pulled me aside and {outcome}. || At lunch {boss} came over to my desk and {outcome}.
P: I'm never using that app before coffee again. || Lesson learned: double-check the chat name.
G: Sent {msg} to my {n}-person work chat instead of my sister; my manager {outcome}.
G: Sent {msg} to the team chat by mistake instead of my sister; my manager {outcome}.
S: I usually check my phone before I've had coffee.
S: My work group chat has {n} people in it.
W: my sister => my landlord
W: work chat => family chat
W: team chat => family chat
X: outcome; n; msg

== tifu
slots: me=AGE; temp=38|41|45|50; hrs=two|three|four; nb=NAME_F; snack=a bag of chips|a paperback book|a half-empty
   mug of tea|a houseplant I was repotting
T: TIFU by locking myself out on my own balcony
T: TIFU: stuck on my balcony for {hrs} hours in my pajamas
P: I ({me}M) live alone on the fourth floor and stepped onto the balcony to water my plants. || Sunday morning I
   ({me}M) went out on my fourth-floor balcony to water my plants in my pajamas.
P: The sliding door has a latch that apparently drops by itself if you slam it. || I pulled the sliding door shut
   behind me, and the latch flipped down on its own.
P: I had no phone, no shoes, and only {snack}. || All I had with me was {snack}; my phone was on the kitchen
   counter.
P: It was {temp} degrees out and I waited {hrs} hours, waving at people below. || It was {temp} degrees and it took
   {hrs} hours before anyone noticed me waving.
P: Eventually my neighbor {nb} saw me and got the building manager to let me in. || Finally {nb} from the third
   floor spotted me and got the building manager to unlock my door.
P: Lesson learned: prop the door open. || I bought a door stopper that afternoon.
G: Locked myself out on my fourth-floor balcony in {temp}-degree weather without a phone and waited {hrs} hours
   until a neighbor got help.
G: Balcony door latched behind me; stuck outside for {hrs} hours without my phone until {nb} got the building
   manager to let me in.
S: I like to water my balcony plants in the morning.
S: I live alone on the fourth floor.
W: balcony => roof
W: until a neighbor got help => until I broke the glass to get back in
W: building manager => fire department
X: temp; hrs; nb

== tifu
slots: me=AGE; n=three|four|five; item=lemon bars|chocolate chip cookies|banana muffins|brownies|oatmeal cookies;
   price=1|2|3; raised=40|65|80|120
T: TIFU by baking {n} dozen {item} with salt instead of sugar
T: TIFU at my kid's school bake sale
P: My daughter's school had a bake sale yesterday and I volunteered to bring {n} dozen {item}. || I ({me}F) signed
   up to bake {n} dozen {item} for my daughter's school bake sale.
P: I keep salt and sugar in identical jars, so you can see where this is going. || My salt and sugar live in
   matching unlabeled jars, and I was baking late at night.
P: I didn't taste a single one before packing them up. || I never tasted the batter because I was rushing.
P: The first parent to buy one made a face I will never forget, and the principal tried one too. || A dad bought
   one, took a bite, and slowly put it back down in front of the principal.
P: We gave refunds and the class still raised ${raised} from everything else. || I refunded everyone at ${price} a
   piece, and the sale still raised ${raised} thanks to other parents.
P: My daughter has asked me to never bake for school again. || The jars are labeled now.
G: Used salt instead of sugar in {n} dozen {item} for my daughter's bake sale; refunded buyers, and the sale still
   raised ${raised}.
G: Mixed up identical salt and sugar jars and brought salty {item} to my daughter's school bake sale, in front of
   the principal.
S: My daughter's school held a bake sale this week.
S: The school bake sale raised ${raised}.
W: salt instead of sugar => too much sugar
W: daughter's => son's
W: refunded buyers => nobody noticed
X: n; item; raised

== legaladvice
slots: state=STATE; dep=900|1,200|1,500|1,800|2,100; kept=600|750|900|1,100; days=30|35|45|60; yrs=two|three|four
T: [{state}] Landlord kept ${kept} of my deposit for normal wear and tear
T: Landlord keeping most of my security deposit, what are my options? ({state})
P: I moved out of my apartment in {state} about {days} days ago after renting for {yrs} years. || Location: {state}.
   I left my apartment {days} days ago after a {yrs}-year lease.
P: My deposit was ${dep}, and today I got a check for what was left after he kept ${kept}. || I paid a ${dep}
   deposit and the landlord just sent back everything except ${kept}.
P: The itemized list says repainting, carpet cleaning, and 'general wear.' || His list of charges is repainting the
   walls, cleaning carpets, and replacing blinds.
P: My move-out photos show the place was clean, with just a few nail holes in the walls. || I took photos and video
   on move-out day; the only damage was small nail holes from pictures.
P: The lease doesn't say anything about paint or carpets. || Nothing in my lease mentions paint or carpet cleaning
   fees.
P: Is this normal wear and tear, and what can I do? || Can he legally do this, and is small claims worth it?
G: {state} landlord kept ${kept} of my ${dep} deposit for painting and cleaning; I have photos showing only nail
   holes. What are my options?
G: Landlord withheld ${kept} of my deposit for repainting and carpets despite photos of a clean unit; can I get it
   back?
S: I rented my apartment in {state} for {yrs} years.
S: My lease does not mention paint or carpets.
W: landlord => roommate
W: Landlord => Roommate
W: only nail holes => major water damage
X: kept; dep; state

== legaladvice
slots: state=STATE; cost=1,800|2,400|3,100|4,500; tree=oak|maple|pine|elm; mo=six months|a year|two years; nb=NAME_M
T: [{state}] Neighbor's dead {tree} fell on my fence, who pays?
T: Neighbor's tree crushed my fence during a storm
P: During a storm last night my neighbor's {tree} tree fell and crushed about 40 feet of my fence. || A big {tree}
   from my neighbor's yard came down in last night's storm and flattened part of my fence.
P: The repair quote I got this morning is ${cost}. || A fence company quoted me ${cost} to replace the damaged
   section.
P: The thing is, the tree has been obviously dead for at least {mo}. || That tree has had no leaves for {mo}, and
   half of it was already rotten.
P: I told {nb} in writing back then that I was worried it would fall, and I still have the email. || I emailed {nb}
   about it {mo} ago and he said he'd deal with it, but he never did.
P: Now he says it's an act of God and my insurance should cover it. || Now {nb} says storms aren't his fault and I
   should file with my own insurance.
P: Who is responsible here? || Do I have a case against him?
G: Neighbor's {tree} that had been dead for {mo} fell on my fence, and I'd warned him in writing; is he liable for
   the ${cost} repair?
G: Neighbor ignored my written warning about his dead tree, which then crushed my fence in a storm; who pays the
   ${cost}?
S: There was a big storm in my area last night.
S: A fence company gave me a quote this morning.
W: on my fence => on my car
W: and I'd warned him in writing => but I never mentioned it to him
W: Neighbor ignored my written warning about his dead tree => Neighbor's healthy tree
X: cost; mo; tree

== legaladvice
slots: state=STATE; amt=640|980|1,250|1,730; wk=three|four|five|six; place=a coffee shop|a restaurant|a landscaping
   company|a warehouse|a bike shop
T: Former employer hasn't paid my final paycheck after {wk} weeks ({state})
T: [{state}] Quit my job and never got my last paycheck
P: I worked at {place} in {state} for about eight months and gave two weeks' notice. || I gave proper notice and
   left my job at {place} in {state} at the end of last month.
P: It's now been {wk} weeks, and I still haven't received my last paycheck of about ${amt}. || My final check,
   roughly ${amt}, was supposed to come on the normal payday {wk} weeks ago.
P: Every time I call, the owner says payroll is 'being sorted out.' || The owner keeps telling me it's in the mail,
   but nothing has arrived.
P: I have my schedules and texts showing the hours I worked. || I have screenshots of my schedule and the clock-in
   app showing my hours.
P: I really need this money for rent. || Rent is due next week and I was counting on it.
P: What can I do? || Who do I even report this to?
G: Left my job at {place} in {state} and my final ${amt} paycheck is {wk} weeks late; the owner keeps stalling. How
   do I get paid?
G: Former employer has stalled on my ${amt} final paycheck for {wk} weeks despite my records of hours; where do I
   report it?
S: I worked at {place} in {state}.
S: My rent is due soon.
W: final => first
W: the owner keeps stalling => the owner already paid it
W: Former employer => My bank
X: amt; wk; place

== dogs
slots: me=AGE; dog=Biscuit|Max|Moose|Tucker|Bruno|Ollie|Rocco|Murphy; breed=beagle|husky mix|lab mix|terrier|border
   collie|boxer; aged=one|two|three; hrs=six|seven|eight|nine
T: My {breed} barks all day when I'm at work and the neighbors are complaining
T: Neighbors complaining about my dog barking, need help
P: I adopted {dog}, a {aged}-year-old {breed}, about two months ago. || Two months ago I ({me}F) adopted {dog}, a
   {aged}-year-old {breed} from a local shelter.
P: He's perfect when I'm home, but my neighbor says he barks for hours when I leave for work. || He's calm and sweet
   when I'm home, but apparently he barks nonstop once I leave.
P: I'm gone about {hrs} hours a day and my building manager sent me a warning letter. || I work {hrs}-hour days and
   I got a noise warning from my building manager yesterday.
P: I tried leaving the TV on and giving him a puzzle toy, but he ignores the toy until I get home. || I've tried a
   frozen treat toy and leaving the TV on, with no change.
P: I really don't want to give him back to the shelter. || Returning him is not something I want to consider.
P: What can I try? || Has anyone dealt with this?
G: My newly adopted {breed} barks for hours while I'm at work, and the building manager sent a warning; how do I fix
   it?
G: Adopted {dog} two months ago and he barks nonstop during my {hrs}-hour workdays; toys and TV haven't helped.
   Advice?
S: I adopted a {aged}-year-old {breed} two months ago.
S: My dog is calm and sweet when I am home.
W: barks => chews the furniture
W: building manager => police
W: toys and TV haven't helped => a puzzle toy fixed it
X: breed; hrs; dog

== CatAdvice
slots: me=AGE; cat=Mochi|Nala|Juniper|Ziggy|Bean|Clementine|Pumpkin|Luna; cage=four|six|nine|eleven;
   wk=two|three|four
T: Cat stopped using the litter box after we moved
T: {cage}-year-old cat peeing outside the box since the move, help
P: We moved to a new apartment {wk} weeks ago with our {cage}-year-old cat, {cat}. || My partner and I ({me}F) moved
   {wk} weeks ago, and our cat {cat} ({cage} years old) came with us.
P: Since then she's been peeing on the bath mat instead of in her box. || Since the move she keeps peeing next to
   the litter box, mostly on the bath mat.
P: The box is in the laundry room now because there's nowhere else to put it. || We put the box in the laundry room
   right next to the washing machine, which is loud.
P: Same litter, same box, and she's eating normally. || We use the same litter and the same box as before, and she's
   eating fine.
P: She never had an accident in the old place. || She was perfect for years in our old place.
P: Is this stress, or should we go to the vet? || What should we do?
G: Since moving {wk} weeks ago, our {cage}-year-old cat pees outside her litter box, which is now in the laundry
   room; stress or a vet issue?
G: {cat} started peeing on the bath mat after our move; same litter and box, new laundry-room spot. What should we
   do?
S: We moved to a new apartment with our cat.
S: Our cat is eating normally.
W: pees outside her litter box => stopped eating
W: laundry room => bedroom closet
W: after our move => after we got a dog
X: cage; wk

== puppy101
slots: me=AGE; pup=Hazel|Rosie|Waffles|Pickle|Maple|Daisy|Pepper|Olive; breed=golden retriever|corgi|cocker
   spaniel|shepherd mix|poodle mix; wks=nine|ten|eleven|twelve; nights=four|five|six|seven
T: {wks}-week-old puppy cries all night in the crate
T: Crate training is destroying my sleep
P: We brought home {pup}, a {wks}-week-old {breed}, last week. || Our new {breed} puppy {pup} is {wks} weeks old and
   has been home about a week.
P: For {nights} nights straight she has cried in her crate from midnight until about 4 am. || She has screamed in
   her crate for {nights} nights in a row, mostly between midnight and 4 am.
P: The crate is in the living room and we sleep upstairs. || We set the crate up downstairs in the living room, far
   from our bedroom.
P: We take her out right before bed and she has a blanket and a chew toy. || She gets a potty break before bed and
   has a soft blanket in there.
P: My husband wants to let her sleep in our bed, but I'm worried about making it a habit. || I'm exhausted and about
   to give in and let her sleep with us.
P: Does it get better? || What worked for you?
G: Our {wks}-week-old {breed} cries in her downstairs crate every night despite potty breaks; will it get better, or
   should we let her sleep with us?
G: Puppy has cried in her crate for {nights} nights straight; a potty break and a blanket haven't helped. How do we
   get through this?
S: We keep the crate in our living room.
S: We brought home a {breed} puppy last week.
W: cries => sleeps quietly
W: downstairs => upstairs
W: haven't helped => fixed it right away
X: wks; nights; breed

== careerguidance
slots: me=AGE; a=95|105|112|120; b=72|78|84|88; comm=an hour|75 minutes|50 minutes|90 minutes; co=a big bank|a
   hospital network|a logistics company|an insurance firm; st=a 12-person startup|a small nonprofit|a design
   agency|a local software shop
T: Two job offers: ${a}k with a long commute vs ${b}k fully remote
T: Higher salary or remote work? Need to decide by Friday
P: I'm {me} and have two offers after six months of searching. || After six months of searching I ({me}M) suddenly
   have two offers on the table.
P: The first is ${a}k at {co}, in office five days a week with a commute of about {comm} each way. || Offer one:
   {co}, ${a}k, fully in office, and the commute is {comm} each way.
P: The second is ${b}k at {st}, fully remote with flexible hours. || Offer two: {st}, ${b}k, fully remote.
P: I hate driving, but the extra money would help me pay off my loans faster. || The remote job sounds better for my
   life, but I have student loans and the difference is real money.
P: I have to answer both by Friday. || Both want an answer by Friday.
P: What would you choose? || How do people weigh salary against commute?
G: Choosing between ${a}k in office with {comm} of commuting each way and ${b}k fully remote; the money would help
   with loans. Which should I take?
G: Two offers: more pay at {co} with a long commute, or less pay fully remote at {st}. How do I choose by Friday?
S: I searched for a job for six months.
S: I have student loans.
W: fully remote => hybrid
W: with {comm} of commuting each way => with no commute
W: more pay at => less pay at
X: a; b; comm; co

== jobs
slots: me=AGE; boss=NAME_M; proj=the new onboarding process|a reporting dashboard|the vendor cost analysis|the
   customer survey redesign|the warehouse scheduling tool; vp=the VP|the regional director|the CEO|the department
   head|our biggest client
T: My manager presented my project as his own to {vp}
T: Boss took credit for my work in a big meeting
P: I ({me}F) spent two months building {proj}, partly on my own time. || For the last two months I ({me}F) have been
   working on {proj}, including some evenings.
P: Yesterday my manager {boss} presented it to {vp} and said 'I put this together.' || In yesterday's meeting with
   {vp}, my manager {boss} presented it as his idea and never mentioned me.
P: I was in the room and didn't say anything because I was too shocked. || I was sitting right there and just froze.
P: {vp} loved it and wants it rolled out company-wide. || Now it's being rolled out to every team, and his name is
   on it.
P: Performance reviews are next month. || Reviews and raises are decided next month.
P: How do I handle this without getting on his bad side? || Do I go over his head?
G: My manager presented {proj}, which I built, to {vp} as his own work right before reviews; how do I handle it?
G: Boss took credit for my two-month project in front of {vp} while I froze; should I go over his head?
S: I worked some evenings over the last two months.
S: Performance reviews are next month at my company.
W: My manager => A coworker
W: Boss => A coworker
W: as his own work => and gave me full credit
X: vp; proj

== roommates
slots: me=AGE; rm=NAME_F; bf=NAME_M; nights=five|six|five or six; rent=1,700|1,900|2,200|2,600; util=30|45|60
T: Roommate's boyfriend basically lives here and doesn't pay anything
T: How do I bring up my roommate's boyfriend staying over every night?
P: I ({me}F) share a two-bedroom with {rm}, and we split ${rent} rent evenly. || My roommate {rm} and I split a
   ${rent}-a-month two-bedroom.
P: Her boyfriend {bf} has been staying over {nights} nights a week since March. || Since March her boyfriend {bf}
   has been here {nights} nights a week.
P: He showers every morning, eats our groceries, and works from our living room. || He takes long showers, uses the
   kitchen constantly, and takes calls in the living room all day.
P: Our utilities have gone up by about ${util} a month. || Our utility bill is up around ${util} a month.
P: I like him fine, but I didn't sign up for a third roommate. || He's a nice guy, but I feel like I'm paying for
   someone else's apartment.
P: How do I bring this up without making it awkward? || Is it fair to ask him to pay something?
G: Roommate's boyfriend {bf} stays over {nights} nights a week, using utilities and the living room without paying;
   how do I bring it up fairly?
G: My roommate's boyfriend practically lives with us and utilities are up ${util} a month; is it fair to ask him to
   chip in?
S: My roommate and I split ${rent} in rent evenly.
S: My roommate's boyfriend seems like a nice guy.
W: boyfriend => sister
W: without paying => and pays half the rent
W: up ${util} a month => down a little
X: nights; util

== roommates
slots: me=AGE; rm=NAME_M; days=four|five|six|seven; n=two|three|four
T: Roommate leaves dishes in the sink for days
T: I'm done cleaning up after my roommate
P: I ({me}M) live with {n} other guys, and one of them, {rm}, never does his dishes. || There are {n} other guys in
   the house with me, and {rm} is the only one who never washes anything.
P: His pans sit in the sink for {days} days at a time until they smell. || His dishes pile up for {days} days until
   the kitchen smells.
P: We made a chore chart in January and he ignored it after a week. || We tried a chore chart, and he stopped
   following it after a week.
P: Last week I found mold in a pot he said he was 'soaking.' || Yesterday there was a pot of old rice with mold on
   it.
P: Everyone else is annoyed but nobody wants to be the bad guy. || The others complain to me but won't say anything
   to him.
P: How do I handle this? || Should I just box up his dishes?
G: Roommate {rm} leaves dirty dishes for {days} days until they mold and ignores our chore chart; how do I confront
   him when others won't?
G: One of my {n} roommates never washes his dishes and ignored the chore chart; how do we deal with it?
S: We made a chore chart.
S: I live with {n} other guys.
W: dishes => laundry
W: ignores our chore chart => cooks for everyone
W: ignored the chore chart => made the chore chart
X: days; n

== Fitness
slots: me=AGE; lb=175|185|205|225; mo=three|four|five|six; days=three|four; wt=160|170|175|182|190
T: Stuck at {lb} bench for {mo} months
T: Bench press plateau, what am I doing wrong?
P: I'm {me}M, {wt} lbs, and have been lifting for about two years. || {me}M, {wt} pounds, two years of lifting.
P: My bench has been stuck at {lb} for a single rep for {mo} months. || I've been stuck at a {lb} pound single on
   bench for {mo} months now.
P: I bench {days} days a week, always heavy sets of three to five. || I train bench {days} times a week and always
   go heavy.
P: My squat and deadlift are still going up, so it's only bench. || Squat and deadlift keep improving, it's just the
   bench.
P: I sleep about six hours and eat whatever is around. || Sleep is around six hours and I don't really track food.
P: Should I change my program? || What would you change?
G: Bench stuck at {lb} for {mo} months training heavy {days} days a week, with little sleep and untracked food; what
   should I change?
G: My bench has stalled at {lb} for {mo} months while squat and deadlift still improve; how do I break the plateau?
S: I have been lifting for about two years and weigh {wt} pounds.
S: My squat is still going up.
W: stuck at => up 40 pounds to
W: stalled at => jumped to
W: while squat and deadlift still improve => along with my squat and deadlift
X: lb; mo; days

== running
slots: me=AGE; wk=six|seven|eight|nine; mi=15|18|20|22; rc=CITY; long=8|9|10
T: First half marathon in {wk} weeks and my knee hurts after long runs
T: Knee pain while training for my first half
P: I'm {me}F and signed up for my first half marathon in {rc}, which is {wk} weeks away. || My first half marathon
   is in {rc} in {wk} weeks and I'm {me}F.
P: I'm running about {mi} miles a week and my long run is up to {long} miles. || Right now I run {mi} miles a week
   with a {long}-mile long run on Sundays.
P: After the long run, the outside of my right knee aches for a day or two. || The outside of my right knee starts
   aching near the end of long runs and stays sore for a day.
P: Short runs feel fine, and my shoes have about 400 miles on them. || Easy runs are fine, and my shoes are old,
   about 400 miles.
P: I don't want to lose fitness by resting. || I'm scared that taking time off will ruin my training.
P: Should I see a physio or push through? || Has anyone had this?
G: Training for my first half marathon in {wk} weeks, the outside of my knee aches after {long}-mile runs; should I
   rest or see a physio?
G: Outer knee pain after long runs with {wk} weeks to my first half marathon in {rc} and old shoes; what should I
   do?
S: My first half marathon is in {rc}.
S: I run {mi} miles a week.
W: knee => ankle
W: first half marathon => fifth marathon
W: old shoes => brand-new shoes
X: wk; long

== loseit
slots: me=AGE; lost=25|32|40|48; wk=three|four|five; cal=1,500|1,600|1,700|1,800; steps=8,000|10,000|12,000
T: Lost {lost} lbs and now the scale hasn't moved in {wk} weeks
T: {wk}-week stall after losing {lost} pounds
P: Since January I ({me}F) have lost {lost} pounds by counting calories in an app. || I've lost {lost} pounds since
   New Year's, mostly from tracking everything I eat.
P: For the last {wk} weeks the scale hasn't moved at all. || But now I've been stuck at the same weight for {wk}
   weeks.
P: I'm eating about {cal} calories a day and walking {steps} steps. || I eat around {cal} calories and walk about
   {steps} steps a day.
P: My clothes do fit a bit looser, which is confusing. || Oddly, my jeans are getting looser and my belt is on a new
   notch.
P: I'm starting to lose motivation and feel like I'm doing something wrong. || Honestly it's making me want to quit.
P: Is this normal? || Should I cut calories more?
G: Lost {lost} pounds counting calories, but the scale has been stuck for {wk} weeks even though my clothes are
   looser; is this normal?
G: After losing {lost} pounds I've stalled for {wk} weeks at {cal} calories a day; should I cut more or wait it out?
S: I walk about {steps} steps a day.
S: I have been tracking what I eat this year.
W: Lost => Gained
W: losing => gaining
W: looser => tighter
X: lost; wk; cal

== travel
slots: hub=CITY; dest=Lisbon|Athens|Reykjavik|Vienna|Copenhagen|Prague|Edinburgh; hrs=nine|eleven|fourteen|twenty;
   vou=150|200|250; delay=two|three|four
T: Missed my connection in {hub} because of a delay; airline offered a ${vou} voucher
T: Airline delay made me miss my connection, is a voucher all I get?
P: I was flying to {dest} with a connection in {hub}. || My trip to {dest} had a connection through {hub}.
P: The first flight was delayed {delay} hours for a 'mechanical issue,' so I missed the connection. || A mechanical
   problem delayed the first leg by {delay} hours and I missed my connecting flight.
P: They rebooked me on a flight {hrs} hours later and I lost a prepaid hotel night. || The next available flight was
   {hrs} hours later, so I lost a prepaid night at my hotel.
P: At the desk they offered a ${vou} voucher and said that's all they can do. || The gate agent offered me a ${vou}
   travel voucher and said that was the policy.
P: It was one ticket booked directly with the airline. || Both flights were on one booking through the airline's
   website.
P: Am I entitled to more? || Should I accept the voucher or push for cash?
G: Mechanical delay made me miss my {hub} connection to {dest}, costing {hrs} hours and a hotel night; is a ${vou}
   voucher all I'm owed?
G: Airline's {delay}-hour mechanical delay caused a missed connection on a single booking; they offered a ${vou}
   voucher. Should I push for more?
S: I was flying to {dest}.
S: I booked my flights on the airline's website.
W: voucher => cash refund
W: Mechanical delay => Weather delay
W: a hotel night => my checked bag
X: hub; dest; vou; hrs

== solotravel
slots: me=AGE; dest=Japan|Portugal|Mexico City|Vietnam|Scotland|Peru; days=ten|twelve|fourteen|nine;
   bud=2,500|3,000|3,500|4,000; mon=April|May|October|September
T: First solo trip: {days} days in {dest} on ${bud}, is it doable?
T: Planning {days} days in {dest} on a budget, help me not mess this up
P: I'm {me} and planning my first solo trip, {days} days in {dest} in {mon}. || This {mon} I'm doing my first trip
   alone: {days} days in {dest}.
P: My total budget is ${bud} including flights, which I already booked for about $900. || I have ${bud} for
   everything, and flights are already booked for around $900.
P: I want to see a few cities but I'm worried I'll spend the whole time on trains. || I want to visit a couple of
   places without spending all my time in transit.
P: I'm fine with hostels and street food. || Hostels and cheap food are totally fine with me.
P: I'm a little nervous about traveling alone. || I've never traveled alone and I'm a bit anxious.
P: Is this budget realistic, and how many places should I try to see? || Any tips for planning the route?
G: Planning a {days}-day first solo trip to {dest} on ${bud} total with flights booked; is that realistic, and how
   many places should I visit?
G: First solo trip: {days} days in {dest} in {mon} with ${bud}; how do I plan a route without too much time in
   transit?
S: I'm fine with hostels and cheap food.
S: I have never traveled alone before.
W: solo => family
W: with flights booked => before booking flights
W: First solo trip => Fifth trip with my parents
X: dest; days; bud

== techsupport
slots: brand=Dell|Lenovo|HP|Acer|ASUS; temp=85|90|95; yrs=two|three|four; cpu=40|60|80
T: {brand} laptop fan running nonstop since the latest update
T: Laptop overheating at idle after Windows update
P: My {yrs}-year-old {brand} laptop has been running hot since an update last Tuesday. || Since last week's Windows
   update my {brand} laptop ({yrs} years old) sounds like a jet engine.
P: At idle the CPU sits around {temp} C and the fan never stops. || Even doing nothing, it's at {temp} C with the
   fan at full speed.
P: Task Manager shows a process called 'Service Host' using about {cpu}% CPU. || Task Manager shows a service host
   process at roughly {cpu}% CPU.
P: I cleaned the vents with compressed air and it didn't help. || I've already blown out the vents, no change.
P: Before the update it was quiet and cool. || It was totally fine before the update.
P: Should I roll back the update? || Any ideas what's going on?
G: Since a Windows update my {brand} laptop idles at {temp} C with the fan maxed and a service host process using
   {cpu}% CPU; how do I fix it?
G: Laptop overheats at idle after an update, with a background process at {cpu}% CPU; cleaning the vents didn't
   help. Should I roll back?
S: My {brand} laptop is {yrs} years old.
S: I cleaned my laptop's vents with compressed air.
W: Since a Windows update => Since I spilled coffee on it
W: after an update => after I dropped it
W: fan maxed => fan not spinning
X: brand; temp; cpu

== techsupport
slots: me=AGE; dev=work laptop|gaming PC|new phone|smart TV|tablet; n=10|15|20|30; router=a mesh system|the ISP's
   router|a TP-Link router|an old Netgear router
T: Wi-Fi keeps dropping on my {dev} but nothing else
T: Only one device keeps losing internet every {n} minutes
P: My {dev} disconnects from Wi-Fi every {n} minutes or so. || Every {n} minutes my {dev} loses the Wi-Fi
   connection.
P: Every other device in the house is fine, including two phones and a laptop. || Nothing else in the house has this
   problem, and we have plenty of devices.
P: We use {router}, and the {dev} is two rooms away from it. || Our network is {router}, and the {dev} isn't far
   from it.
P: Forgetting the network and reconnecting fixes it for a while. || Reconnecting works, but only until the next
   drop.
P: It started about a month ago and it's killing my video calls. || It's been happening for a month, always during
   video calls it seems.
P: What should I check? || Where do I even start troubleshooting?
G: My {dev} drops Wi-Fi every {n} minutes while every other device is fine; reconnecting helps briefly. What should
   I check?
G: Only my {dev} keeps losing Wi-Fi on {router}, starting a month ago; how do I troubleshoot it?
S: We have several devices in the house.
S: I take a lot of video calls.
W: while every other device is fine => and so does every device in the house
W: Wi-Fi => Bluetooth
W: reconnecting helps briefly => nothing fixes it even briefly
X: dev; n

== buildapc
slots: gpu=RTX 4070|RX 7800 XT|RTX 4060 Ti|RX 7700 XT; cpu=Ryzen 5 7600|Ryzen 7 7700X|Core i5-13600K|Core i5-14400;
   budget=1,100|1,300|1,500; light=DRAM|CPU|VGA
T: First build won't post, {light} light stays on
T: Help: new {cpu} build, fans spin but no display
P: I just finished my first build with a {cpu} and an {gpu}, about ${budget} total. || Finished my first PC build
   today: {cpu}, {gpu}, roughly ${budget}.
P: When I power it on, the fans spin and the RGB lights up, but there's no display. || Fans spin and everything
   lights up, but the monitor says no signal.
P: The {light} debug light on the motherboard stays on. || There's a debug LED for {light} on the board that stays
   lit.
P: I reseated the RAM twice and made sure the monitor is plugged into the graphics card. || I already reseated the
   RAM and the monitor cable is in the GPU, not the motherboard.
P: I haven't updated the BIOS because I can't get into it. || I don't know what BIOS version the board shipped with.
P: What should I try next? || Did I fry something?
G: First build with a {cpu} and {gpu} powers on but shows no display, with the {light} debug light on after
   reseating RAM; what next?
G: New PC won't post: fans spin, no signal, and the {light} LED stays lit even after reseating the RAM. Could it be
   the BIOS?
S: My first build cost about ${budget}.
S: My new PC has RGB lighting.
W: no display => a blue screen
W: after reseating RAM => before I installed any RAM
W: fans spin => nothing turns on
X: cpu; gpu; light

== Parenting
slots: me=AGE; kid=NAME_F; age=two|two and a half|three; wake=two|three|four; mo=two|three|four
T: {age}-year-old refuses to sleep in her own bed
T: Toddler ends up in our bed every night
P: Our daughter {kid} is {age} and for the last {mo} months she won't stay in her own bed. || Our {age}-year-old,
   {kid}, started refusing her own bed about {mo} months ago.
P: She falls asleep fine but wakes up {wake} times a night and comes to our room. || She goes down okay, then wakes
   {wake} times a night and climbs into our bed.
P: It started around when her baby brother was born. || The timing lines up with her baby brother arriving.
P: We've tried a sticker chart and walking her back every time. || We tried a sticker chart and walking her back,
   and she just cries.
P: My husband and I are both exhausted and snapping at each other. || We're so tired that my husband and I are
   fighting over it.
P: What worked for you? || How do we fix this gently?
G: Since her baby brother was born, our {age}-year-old wakes {wake} times a night and comes to our bed; sticker
   charts failed. What works?
G: Toddler hasn't stayed in her own bed for {mo} months and we're exhausted; how do we gently get her back in it?
S: We recently had a baby boy.
S: My husband and I are very tired.
W: baby brother => new puppy
W: to our bed => to the kitchen
W: sticker charts failed => a sticker chart fixed it
X: age; wake; mo

== college
slots: me=AGE; cls=organic chemistry|calculus II|intro to statistics|physics I|microeconomics; score=38|41|48|52;
   wt=30|35|40; dl=Friday|Monday|next Wednesday
T: Got a {score}% on my {cls} midterm, should I drop?
T: Failed my midterm, withdraw or stick it out?
P: I'm a sophomore and just got my {cls} midterm back with a {score}%. || Just got a {score}% on my {cls} midterm
   and I'm freaking out.
P: The midterm is worth {wt}% of the grade, and the final is worth the same. || It counts for {wt}% of the grade,
   and the final counts the same.
P: The deadline to withdraw with a W is {dl}. || I can withdraw with a W until {dl}.
P: I studied a lot, but I ran out of time on the exam and left two problems blank. || I studied for two weeks but
   ran out of time and left two problems blank.
P: My scholarship needs me to keep 12 credits. || I have to stay at 12 credits for my scholarship.
P: Should I drop it or try to recover? || Has anyone come back from this?
G: Got {score}% on a {cls} midterm worth {wt}% of my grade; withdrawal deadline is {dl}, but I need 12 credits for
   my scholarship. Drop or stay?
G: Failed my {cls} midterm after running out of time; should I withdraw by {dl} or try to recover on the final?
S: I have a scholarship.
S: I studied for the {cls} midterm.
W: Failed => Aced
W: scholarship => job
W: after running out of time => after skipping the exam
X: cls; score; dl

== Cooking
slots: me=AGE; dish=a pork roast|lasagna|a whole chicken|beef stew|a pot roast; n=five|six|seven|eight|ten|twelve;
   time=an hour|45 minutes|90 minutes
T: Burned dinner for my in-laws the first time hosting, need a foolproof menu
T: Hosting in-laws on Sunday after last time's disaster, need an easy menu
P: Last month I ({me}M) hosted my in-laws for the first time and made {dish}. || The first time I cooked for my
   wife's family, last month, I made {dish}.
P: I got distracted and it burned, so we ended up ordering pizza an hour late. || I burned it badly and we ordered
   pizza.
P: They're coming again on Sunday, {n} people this time. || This Sunday they're coming back, {n} of them.
P: I want something I can mostly prep ahead so I'm not stuck in the kitchen. || I'd like something I can make ahead,
   since I only have {time} once they arrive.
P: My father-in-law doesn't eat spicy food. || One of them is vegetarian, which I forgot about last time.
P: Any foolproof ideas? || What would you make?
G: Burned {dish} the first time I hosted my in-laws; they're coming back Sunday, {n} people. What foolproof
   make-ahead meal should I cook?
G: Need an easy make-ahead dinner for {n} in-laws on Sunday after burning {dish} last time; any foolproof ideas?
S: My in-laws ended up eating pizza at my place last time.
S: I hosted my wife's family for the first time last month.
W: Burned => Perfectly cooked
W: after burning => after nailing
W: in-laws => coworkers
X: dish; n

== gardening
slots: n=three|four|five|six|eight|ten; zone=6|7|8; wk=two|three; var=Roma|cherry|beefsteak|San Marzano|Early
   Girl|heirloom|Celebrity
T: Tomato leaves turning yellow from the bottom up
T: What's wrong with my tomatoes? Yellow leaves and spots
P: This is my first year growing tomatoes, and I have {n} {var} plants in a raised bed. || First-time gardener here
   with {n} {var} tomato plants in a raised bed (zone {zone}).
P: Over the last {wk} weeks the lower leaves have turned yellow with brown spots. || In the past {wk} weeks the
   bottom leaves went yellow and got brown spots.
P: It's moving up the plants, and a few leaves have dropped. || Now it's spreading upward toward the top of the
   plants.
P: I water in the evening with a sprinkler, and it has rained a lot. || I've been watering with a sprinkler at
   night, and it's been a rainy month.
P: The plants already have small green fruit. || There are some small green tomatoes already.
P: Can I save them? || Is this a disease?
G: My {n} {var} tomato plants have yellow, spotted lower leaves spreading upward after lots of rain and evening
   watering; how do I save them?
G: First-year tomatoes getting yellow, spotted leaves from the bottom up; I water at night with a sprinkler. Is it a
   disease?
S: My tomato plants already have small green fruit.
S: I'm growing tomatoes in a raised bed this year.
W: tomato => pepper
W: from the bottom up => only at the very top
W: at night => at noon
X: n; var

== dating_advice
slots: me=AGE; name=NAME_F; app=Hinge|Bumble|a running club|a friend's party|a pottery class; n=twice|three times
T: She cancelled our second date {n}, should I try again?
T: Second date keeps getting cancelled
P: I ({me}M) met {name} through {app} and our first date three weeks ago went really well. || I met {name} through
   {app}, and we had a great first date about three weeks ago.
P: We've tried to set up a second date, but she has cancelled {n}, always the same day. || Since then she has
   cancelled the second date {n}, each time a few hours before.
P: Her reasons were work and a sick roommate, and she always apologizes and suggests rescheduling. || She always
   says sorry, gives a reason like work, and says she still wants to meet.
P: She texts me most days and seems interested. || We still text nearly every day.
P: I don't want to be a pushover, but I also don't want to give up too early. || I can't tell if she's busy or just
   being polite.
P: Should I ask her out again? || What would you do?
G: Great first date, but she has cancelled our second date {n} on the day while still texting daily; should I ask
   again or move on?
G: {name} keeps cancelling our second date at the last minute but says she wants to reschedule; is she interested or
   being polite?
S: I met {name} through {app}.
S: Our first date was three weeks ago.
W: she has cancelled => I have cancelled
W: while still texting daily => and stopped answering my texts
W: says she wants to reschedule => says she never wants to meet again
X: n; name

== Advice
slots: me=AGE; sis=NAME_F; amt=800|1,500|2,000|2,500; mo=six|eight|ten; item=a new phone|a weekend trip|concert
   tickets|a designer bag|a gaming console
T: Sister borrowed ${amt} {mo} months ago and hasn't paid me back
T: How do I get my sister to pay back the money she owes me?
P: About {mo} months ago my older sister {sis} borrowed ${amt} to cover her rent. || My sister {sis} asked me for
   ${amt} for rent about {mo} months ago.
P: She promised to pay me back within two months. || She said she would have it back to me in two months, tops.
P: Since then she has bought {item} and posted about it online. || Last week she posted photos of {item} she just
   bought.
P: When I mention the money she changes the subject or says she's broke. || Every time I ask, she says money is
   tight right now.
P: I ({me}) am not rich, and I need that money for a car repair. || I need the money back for my own bills.
P: How do I bring it up without blowing up the family? || Should I just let it go?
G: Sister borrowed ${amt} for rent {mo} months ago, promised to repay in two, and now spends on {item}; how do I ask
   for it back?
G: My sister won't repay the ${amt} she borrowed for rent but just bought {item}; should I push or let it go?
S: My sister posts photos of her purchases online.
S: My sister needed help with rent a while ago.
W: Sister => Best friend
W: My sister => My best friend
W: for rent => for a car
X: amt; mo; item

== MechanicAdvice
slots: car=2014 Honda Civic|2016 Toyota Corolla|2012 Ford Focus|2017 Mazda 3|2015 Subaru Outback;
   quote=650|780|900|1,150; miles=87,000|98,000|112,000|131,000
T: Grinding noise when braking, shop quoted ${quote}
T: Is ${quote} fair for brakes on a {car}?
P: My {car} with {miles} miles started making a grinding noise when I brake. || For about a week my {car} ({miles}
   miles) has made a grinding sound when braking.
P: It's worse at low speeds, right before I stop. || It's loudest when I'm slowing down to a stop.
P: The shop near my work quoted ${quote} for front pads, rotors, and a caliper. || A local shop quoted me ${quote}
   to replace the front pads and rotors plus one caliper.
P: I've never done brakes myself and I don't have tools. || I'm not handy, so doing it myself isn't really an
   option.
P: I can't tell if that's a fair price or if they're upselling me. || It seems like a lot, but I have no idea what's
   normal.
P: Should I get a second quote? || Is that quote reasonable?
G: My {car} grinds when braking and a shop quoted ${quote} for front pads, rotors, and a caliper; is that fair or
   should I get a second quote?
G: Brakes grinding on my {miles}-mile {car}; is ${quote} for pads, rotors, and a caliper reasonable, or am I being
   upsold?
S: I'm not handy with cars.
S: My car has {miles} miles on it.
W: grinds when braking => won't start
W: front pads => rear tires
W: Brakes grinding => Engine knocking
X: car; quote; miles

== weddingplanning
slots: me=AGE; fi=NAME_M; n=50|60|80|100; extra=30|40|45|60; venue=a barn venue|a small restaurant|a garden|a
   historic library|a brewery; cost=95|120|140
T: My parents want to add {extra} guests to our {n}-person wedding
T: Guest list fight with my parents, who gets the final say?
P: My fiance {fi} and I ({me}F) planned a small wedding for {n} people at {venue}. || {fi} and I are getting married
   at {venue}, and we planned for {n} guests.
P: My parents just asked to add {extra} more people, mostly their friends and coworkers. || Now my parents want to
   invite another {extra} people, most of whom I've never met.
P: They're contributing some money, but we're paying for most of it ourselves. || They're chipping in, but we're
   covering the majority of the costs.
P: Our caterer charges ${cost} a head, and the venue can't hold that many. || At ${cost} a head, and with a venue
   that barely fits our list, it's not workable.
P: My mom says it's her day too and she's hurt. || My mom cried on the phone and said I'm embarrassing her.
P: How do we say no kindly? || How do we handle this?
G: Parents want to add {extra} guests to our {n}-guest wedding at {venue}, which we're mostly paying for; how do we
   say no kindly?
G: My parents want {extra} extra guests at our {n}-person wedding that the venue can't hold; how do we push back
   without hurting them?
S: Our caterer charges ${cost} per person.
S: I'm getting married at {venue}.
W: Parents want => Fiance's parents want
W: My parents => My fiance's parents
W: which we're mostly paying for => which they're fully paying for
X: extra; n; venue

== relationships
slots: me=AGE; hb=NAME_M; hrs=four|five|six; game=an online shooter|a fantasy MMO|a racing game|a strategy game|a
   survival game; yrs=two|three|five
T: Husband games {hrs} hours every night and I feel like a roommate
T: Husband's gaming is taking over our evenings
P: My husband {hb} and I ({me}F) have been married {yrs} years. || {hb} and I have been married for {yrs} years, no
   kids yet.
P: Since he started playing {game} in the spring, he plays {hrs} hours every night after work. || Every night he
   plays {game} for about {hrs} hours, starting right after dinner.
P: We barely talk during the week, and he comes to bed after I'm asleep. || We don't really talk anymore during the
   week, and he goes to bed long after me.
P: When I asked for two nights a week together, he said gaming is how he relaxes. || I asked for a couple of
   game-free nights, and he said I was trying to control him.
P: I don't want to take away his hobby, I just miss him. || I don't hate games, I just feel lonely.
P: How do I get through to him? || Is it wrong to ask for this?
G: Husband of {yrs} years plays {game} {hrs} hours every night and brushed off my request for time together; how do
   I get through to him?
G: I feel lonely because my husband games for {hrs} hours every night; is it wrong to ask for a couple of game-free
   nights?
S: My husband and I have been married {yrs} years.
S: My husband likes playing {game} after work.
W: Husband of => Boyfriend of
W: my husband => my roommate
W: every night => once a month
X: yrs; hrs; game

== personalfinance
slots: me=AGE; raise=8|10|12|15; sal=58,000|64,000|71,000|76,000; loan=18,000|24,000|31,000; rate=4.5|5.8|6.8;
   match=4|5|6
T: Got a {raise}% raise, extra 401k or student loans?
T: What to do with my raise: retirement or loans?
P: I ({me}) just got a {raise}% raise, bringing me to ${sal} a year. || Good news: my salary just went up {raise}%,
   to ${sal}.
P: I have ${loan} left in student loans at {rate}%. || My remaining student loans are ${loan} at {rate}% interest.
P: I already contribute enough to get the full {match}% 401k match. || I put in {match}% to get my employer's full
   401k match.
P: I have a three-month emergency fund and no other debt. || Emergency fund is about three months of expenses, and I
   have no other debt.
P: I'd like to buy a house in maybe five years. || Long term, I'd like to buy a house.
P: Where should the extra money go? || What would you do?
G: Got a {raise}% raise to ${sal}; already getting the 401k match and have an emergency fund. Extra toward ${loan}
   of {rate}% loans or retirement?
G: With a new raise, full 401k match, and emergency fund, should extra money go to my {rate}% student loans or more
   retirement savings?
S: I'd like to buy a house someday.
S: I have no debt other than student loans.
W: student loans => credit card debt
W: already getting the 401k match => not getting any 401k match
W: full 401k match => no 401k match
X: raise; loan; rate

== AskHR
slots: me=AGE; mgr=NAME_F; n=five|eight|ten|a dozen; role=a marketing coordinator|an accountant|a project
   assistant|a junior designer|a payroll specialist|a data analyst|a copywriter; mo=three|four|six
T: Manager texts me all weekend and expects quick replies
T: How do I set boundaries with a manager who texts on weekends?
P: I ({me}F) started as {role} {mo} months ago. || I've been working as {role} for {mo} months.
P: My manager {mgr} texts me on weekends, sometimes {n} times on a Saturday. || Almost every weekend my manager
   {mgr} sends me {n} or so texts.
P: Most of it isn't urgent, like ideas for next week or questions that could wait. || It's rarely urgent, usually
   stuff that could wait until Monday.
P: Last time I didn't answer until Sunday night, she asked on Monday if I was 'still committed.' || When I took a
   day to reply, she made a comment on Monday about my commitment.
P: I'm salaried and not on call. || My job isn't an on-call role and I'm salaried.
P: How do I set boundaries without hurting my career? || Is this normal?
G: My manager sends me {n} texts on weekends about non-urgent things and questioned my commitment when I replied
   slowly; how do I set boundaries?
G: Manager expects quick weekend replies to non-urgent texts in my job as {role}, though I'm not on call; how do I
   push back without hurting my career?
S: I started as {role} {mo} months ago.
S: I am a salaried employee.
W: on weekends => late at night
W: questioned my commitment => praised my commitment
W: Manager expects => A client expects
X: n; role

== Advice
slots: me=AGE; time=12:30 am|1 am|1:30 am|2 am|3 am|midnight; mo=two|three|four; fl=second|third|fifth
T: Upstairs neighbor stomps until {time} every night
T: How do I deal with a loud upstairs neighbor?
P: I ({me}M) live on the {fl} floor of an apartment building, and new neighbors moved in above me {mo} months ago.
   || New neighbors moved in above my {fl}-floor apartment about {mo} months ago.
P: They stomp, drop things, and move furniture until around {time} most nights. || Most nights there is stomping and
   furniture dragging until about {time}.
P: I left a polite note, and it got better for about a week. || I put a friendly note under their door, which helped
   for a few days.
P: I work early shifts at a hospital, so I'm up at 5. || I start work at 6 am, so the late noise is wrecking my
   sleep.
P: The landlord said to 'work it out between yourselves.' || My landlord told me it's not his problem.
P: What else can I do? || Should I talk to them in person?
G: Upstairs neighbors stomp until {time} most nights above my {fl}-floor apartment, a note only helped briefly, and
   my landlord won't step in; what can I do?
G: Noise from upstairs until {time} for {mo} months is wrecking my sleep before early work, and the landlord won't
   help; should I talk to them in person?
S: I live on the {fl} floor.
S: My neighbors moved in {mo} months ago.
W: Upstairs neighbors => My roommates
W: from upstairs => from the street
W: my landlord won't step in => my landlord already fixed it
X: time; mo
"""


class Scenario(NamedTuple):
    """One post template with its summaries."""

    subreddit: str
    slots: dict[str, list[str]]
    near: dict[str, str]
    titles: list[str]
    parts: list[list[str]]
    goods: list[str]
    sides: list[str]
    wrongs: list[tuple[str, str]]
    swaps: list[str]


class Post(NamedTuple):
    """One generated post."""

    scenario: int
    subreddit: str
    title: str
    sentences: list[str]
    post: str
    values: dict[str, str]
    goods: list[str]


def _logical_lines(block: str) -> list[str]:
    lines: list[str] = []
    for raw in block.splitlines():
        if not raw.strip():
            continue
        if raw[0].isspace() and lines:
            lines[-1] += " " + raw.strip()
        else:
            lines.append(raw.strip())
    return lines


def parse_scenarios(text: str) -> list[Scenario]:
    """Parse the scenario templates."""
    scenarios = []
    for block in text.split("\n== ")[1:]:
        head, _, body = block.partition("\n")
        slots: dict[str, list[str]] = {}
        near: dict[str, str] = {}
        titles, parts, goods, sides, wrongs, swaps = [], [], [], [], [], []
        for line in _logical_lines(body):
            key, _, val = line.partition(": ")
            if key == "slots":
                for item in val.split("; "):
                    name, _, spec = item.partition("=")
                    if "~" in spec:  # "AGE~me": an age within NEAR_AGE years of slot "me"
                        pool, _, near[name] = spec.partition("~")
                        slots[name] = POOLS[pool]
                    else:
                        slots[name] = POOLS[spec] if spec in POOLS else spec.split("|")
            elif key == "T":
                titles.append(val)
            elif key == "P":
                parts.append(val.split(" || "))
            elif key == "G":
                goods.append(val)
            elif key == "S":
                sides.append(val)
            elif key == "W":
                old, _, new = val.partition(" => ")
                wrongs.append((old, new))
            elif key == "X":
                swaps = val.split("; ")
            else:
                raise ValueError(f"bad line in scenario {head!r}: {line!r}")
        scenarios.append(Scenario(head.strip(), slots, near, titles, parts, goods, sides, wrongs, swaps))
    return scenarios


def words(text: str) -> int:
    return len(text.split())


def sample_values(rng: random.Random, sc: Scenario) -> dict[str, str]:
    """Pick slot values; slots drawing on the same pool get different values."""
    values: dict[str, str] = {}
    for name, pool in sc.slots.items():
        taken = {v for k, v in values.items() if sc.slots[k] is pool}
        choices = [v for v in pool if v not in taken]
        if name in sc.near:
            choices = [v for v in choices if abs(int(v) - int(values[sc.near[name]])) <= NEAR_AGE]
        values[name] = rng.choice(choices)
    return values


def make_post(rng: random.Random, index: int, sc: Scenario) -> Post:
    values = sample_values(rng, sc)
    sentences = [rng.choice(alts).format(**values) for alts in sc.parts]
    text = " ".join(sentences)
    if rng.random() < 0.12:
        text = f"{text} {rng.choice(FILLERS)}"
    goods = [g.format(**values) for g in sc.goods]
    return Post(index, sc.subreddit, rng.choice(sc.titles).format(**values), sentences, text, values, goods)


def unfaithful_candidates(post: Post, sc: Scenario, good_index: int) -> list[str]:
    """Edits of one good summary that contradict the post."""
    template = sc.goods[good_index]
    good = post.goods[good_index]
    out = []
    for slot in sc.swaps:
        if "{" + slot + "}" not in template:
            continue
        for value in sc.slots[slot]:
            if value != post.values[slot] and value not in post.post:
                out.append(template.format(**{**post.values, slot: value}))
    for old, new in sc.wrongs:
        if old in good:
            out.append(good.replace(old, new))
    return [text for text in out if text != good]


def lower_first(sentence: str, post: Post) -> str:
    """Lower-case the first letter unless the sentence starts with "I" or a name."""
    first = sentence.split()[0]
    if first in ("I", "I'm", "I've", "I'd") or first in post.values.values():
        return sentence
    return sentence[0].lower() + sentence[1:]


def rejected_candidates(
    rng: random.Random, post: Post, sc: Scenario, good_index: int, posts: list[Post]
) -> dict[str, list[str]]:
    others = [p for p in posts if p.scenario != post.scenario]
    opening = post.sentences[0]
    return {
        "unfaithful": unfaithful_candidates(post, sc, good_index),
        "other_post": [rng.choice(rng.choice(others).goods) for _ in range(6)],
        "generic": list(GENERIC),
        "side_detail": [s.format(**post.values) for s in sc.sides],
        "title": [post.title],
        "opening": [opening, f"{opening} {post.sentences[1]}", f"So basically {lower_first(opening, post)}"],
    }


def build_comparisons(rng: random.Random, posts: list[Post], scenarios: list[Scenario]) -> list[dict]:
    n_valid = round(VALID_FRACTION * len(posts))
    valid = set(rng.sample(range(len(posts)), n_valid))
    counts = [3] * len(posts)
    order = rng.sample(range(len(posts)), len(posts))
    for j in order[:N_POSTS_WITH_TWO]:
        counts[j] = 2
    for j in order[N_POSTS_WITH_TWO : N_POSTS_WITH_TWO + N_POSTS_WITH_FOUR]:
        counts[j] = 4
    rows = []
    for i, post in enumerate(posts):
        sc = scenarios[post.scenario]
        split = "valid1" if i in valid else "train"
        n_cmp = counts[i]
        used_kinds: list[str] = []
        used_texts: set[str] = set()
        for _ in range(n_cmp):
            good_index = rng.randrange(len(post.goods))
            good = post.goods[good_index]
            want_longer = rng.random() < 0.5
            cands = rejected_candidates(rng, post, sc, good_index, posts)
            options: dict[str, list[str]] = {}
            for longer in (want_longer, not want_longer):
                for kind, texts in cands.items():
                    ok = [t for t in texts if t not in used_texts and t != good]
                    ok = [t for t in ok if (len(t) > len(good)) == longer and len(t) != len(good)]
                    if ok:
                        options[kind] = ok
                if options:
                    break
            kinds = sorted(options)
            weights = [REJECT_WEIGHTS[k] * (0.25 if k in used_kinds else 1.0) for k in kinds]
            kind = rng.choices(kinds, weights)[0]
            bad = rng.choice(options[kind])
            used_kinds.append(kind)
            used_texts.add(bad)
            choice = rng.randrange(2)
            pol_good, pol_bad = rng.sample(POLICIES, 2)
            summaries = [{"text": bad, "policy": pol_bad, "note": None}]
            summaries.insert(choice, {"text": good, "policy": pol_good, "note": None})
            confidence = rng.choice([5, 6, 7, 7, 8, 8, 9, 9]) if kind != "unfaithful" else rng.randint(3, 9)
            rows.append(
                {
                    "info": {"id": post_id(i), "post": post.post, "title": post.title, "subreddit": post.subreddit},
                    "summaries": summaries,
                    "choice": choice,
                    "worker": f"w{rng.randint(1, 24):02d}",
                    "batch": f"batch{rng.randint(3, 12)}",
                    "split": split,
                    "extra": {"confidence": confidence},
                }
            )
    return rows


_IDS: dict[int, str] = {}


def post_id(index: int) -> str:
    return _IDS[index]


def assign_ids(rng: random.Random, n: int) -> None:
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    seen: set[str] = set()
    for i in range(n):
        while True:
            ident = "t3_" + "".join(rng.choice(alphabet) for _ in range(6))
            if ident not in seen:
                break
        seen.add(ident)
        _IDS[i] = ident


def generate_posts(rng: random.Random, scenarios: list[Scenario]) -> tuple[list[Post], list[Post]]:
    """Posts for the comparisons and for the SFT set, spread evenly over the scenarios and all distinct."""
    n_total = N_COMPARISON_POSTS + N_SFT_POSTS
    seen_posts: set[str] = set()
    seen_goods: set[tuple[str, ...]] = set()
    by_scenario: list[list[Post]] = []
    for sc_index, sc in enumerate(scenarios):
        quota = n_total // len(scenarios) + (sc_index < n_total % len(scenarios))
        posts: list[Post] = []
        while len(posts) < quota:
            post = make_post(rng, sc_index, sc)
            if not 50 <= words(post.post) <= 130:
                continue
            if post.post in seen_posts or tuple(post.goods) in seen_goods:
                continue
            seen_posts.add(post.post)
            seen_goods.add(tuple(post.goods))
            posts.append(post)
        by_scenario.append(posts)
    per = N_COMPARISON_POSTS // len(scenarios)
    comparison = [p for posts in by_scenario for p in posts[:per]]
    rest = [p for posts in by_scenario for p in posts[per:]]
    rng.shuffle(rest)
    n_extra = N_COMPARISON_POSTS - len(comparison)
    comparison += rest[:n_extra]
    sft = rest[n_extra:]
    rng.shuffle(comparison)
    rng.shuffle(sft)
    return comparison, sft


def validate(scenarios: list[Scenario], posts: list[Post], comparisons: list[dict], sft: list[dict]) -> None:
    for sc in scenarios:
        assert sc.titles and sc.parts and sc.goods and sc.sides and sc.wrongs and sc.swaps, sc.subreddit
        assert all(s in sc.slots for s in sc.swaps), sc.subreddit
    for post in posts:
        assert 50 <= words(post.post) <= 130, (words(post.post), post.post)
        for good in post.goods:
            assert 10 <= words(good) <= 30, (words(good), good)
            assert "{" not in good and "}" not in good, good
    cmp_posts = {r["info"]["post"]: r["split"] for r in comparisons}
    for row in comparisons:
        assert cmp_posts[row["info"]["post"]] == row["split"]
        texts = [s["text"] for s in row["summaries"]]
        assert texts[0] != texts[1]
    sft_posts = {r["post"] for r in sft}
    assert not sft_posts & set(cmp_posts), "sft posts overlap comparison posts"
    assert not {r["id"] for r in sft} & {r["info"]["id"] for r in comparisons}
    assert len(sft_posts) == len(sft)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def main() -> None:
    rng = random.Random(SEED)
    scenarios = parse_scenarios(SCENARIOS)
    cmp_posts, sft_posts = generate_posts(rng, scenarios)
    posts = cmp_posts + sft_posts
    assign_ids(rng, len(posts))
    comparisons = build_comparisons(rng, cmp_posts, scenarios)
    sft = []
    for j, post in enumerate(sft_posts, start=len(cmp_posts)):
        sft.append(
            {
                "id": post_id(j),
                "subreddit": post.subreddit,
                "title": post.title,
                "post": post.post,
                "summary": rng.choice(post.goods),
            }
        )
    validate(scenarios, posts, comparisons, sft)
    write_jsonl(COMPARISONS_PATH, comparisons)
    write_jsonl(SFT_PATH, sft)
    print(f"wrote {len(comparisons)} comparisons over {len(cmp_posts)} posts to {COMPARISONS_PATH}")
    print(f"wrote {len(sft)} posts to {SFT_PATH}")


if __name__ == "__main__":
    main()
