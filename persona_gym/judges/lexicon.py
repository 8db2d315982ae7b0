"""The lexicon of the text readers and the lexical judge: vocabulary, patterns and the text
normalisation they assume. Data only (and the few small functions that build or apply it).

Everything here works on *expanded* text (:func:`expand`: lower case, plain quotes, contractions
spelled out: "I'm" -> "i am", "don't" -> "do not"), so every pattern is written against that form.
Sections:

* normalisation: :func:`expand`, :func:`sentence_key`, number words (:func:`parse_number`);
* dialogue acts and the assistant voice (``AI_CLAIM``, ``NOT_AI``, ``EMPATHY``, ``EVADE`` ...);
* per-relation first-person cues for reading the world's values in free text (``RULES``,
  ``EXTRA_SURFACES``, the subject/filler patterns and the regex builders for them), and the
  ``none``, age and family-count patterns;
* the clause lexicon of the free-text judge: stop words, low-information words, synonyms and
  hypernyms, polarity triggers (negation, aspiration, irrealis), places, ages, counts, and the
  mutually exclusive speaker attributes (``SLOTS`` / ``SLOT_CLASH``);
* partner moves in real logs: meta challenges, emotional talk, question cues per relation.

Used by :mod:`persona_gym.judges.reader` (facts, acts and partner moves) and
:mod:`persona_gym.judges.lexical` (the rule judge). What this vocabulary cannot express is listed
in those modules' docstrings.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple


def _load_persona_values() -> dict:
    """The table bench/mine_persona_values.py mined from Synthetic-Persona-Chat's training
    families (``data/persona_values.json``; provenance next to it)."""
    import json
    from pathlib import Path

    path = Path(__file__).parent / "data" / "persona_values.json"
    return json.loads(path.read_text("utf-8"))


PERSONA_VALUES = _load_persona_values()
"""Mined jobs, workplaces, stay-at-home roles, grades and kinds of favourite (counts)."""

# ---------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------

QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                         "\u2014": ", ", "\u2013": "-"})
CONTRACTIONS = {"i'm": "i am", "im": "i am", "can't": "can not", "cannot": "can not",
                 "won't": "will not", "ain't": "am not", "n't": " not", "'ve": " have",
                 "'ll": " will", "'re": " are", "'d": " would", "'s": ""}
CONTRACTION_RE = re.compile(
    r"\b(?:i'm|im|can't|cannot|won't|ain't)\b|n't\b|'(?:ve|ll|re|d)\b"
    r"|\b(?P<is>it|that|what|there|he|she|who|here|where|how|let)'s\b|'s\b"
)
SPACES = re.compile(r"\s+")


def _contraction(m: re.Match[str]) -> str:
    return f"{m.group('is')} is" if m.group("is") else CONTRACTIONS[m.group(0)]


@lru_cache(maxsize=1 << 15)
def expand(text: str) -> str:
    """Lower-case, plain quotes, contractions expanded, whitespace collapsed."""
    s = text.translate(QUOTES).lower()
    if "'" in s or "im " in s or "cannot" in s:
        s = CONTRACTION_RE.sub(_contraction, s)
    return SPACES.sub(" ", s).strip()


SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
TRAIL = re.compile(r"[\s.!?]+$")
REPEAT_SUFFIX = re.compile(r"\s*\(\d+\)$")


def sentence_key(sentence: str) -> str:
    """A sentence as a lookup key: expanded, without its final punctuation."""
    return TRAIL.sub("", sentence)


def plural(word: str) -> str:
    head, _, last = word.rpartition(" ")
    if last.endswith("fish") or last.endswith("s"):
        p = last if last.endswith("fish") else last + "es"
    elif last.endswith(("x", "ch", "sh")):
        p = last + "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        p = last[:-1] + "ies"
    else:
        p = last + "s"
    return f"{head} {p}" if head else p


NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
NUM_WORD_RE = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four"
    r"|five|six|seven|eight|nine))?|zero|one|two|three|four|five|six|seven|eight|nine|ten"
    r"|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
    r"|a hundred|one hundred|hundred)"
)
NUM_RE = rf"(?:\d{{1,3}}|{NUM_WORD_RE})"
COUNT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight")


def parse_number(token: str) -> int | None:
    """``"42"``, ``"forty-two"``, ``"forty two"`` -> 42; None if it is not a number."""
    token = token.strip()
    if token.isdigit():
        return int(token)
    if token in ("a hundred", "one hundred", "hundred"):
        return 100
    if token in NUMBER_WORDS:
        return NUMBER_WORDS[token]
    parts = re.split(r"[- ]", token)
    if parts[0] in TENS:
        if len(parts) == 1:
            return TENS[parts[0]]
        if len(parts) == 2 and parts[1] in NUMBER_WORDS and NUMBER_WORDS[parts[1]] < 10:
            return TENS[parts[0]] + NUMBER_WORDS[parts[1]]
    return None


# ---------------------------------------------------------------------------------------------
# Acts and assistant voice
# ---------------------------------------------------------------------------------------------

AI_CLAIM = re.compile(
    r"\bas an? (?:ai|a\.i\.|artificial intelligence|language model|large language model|llm"
    r"|chatbot|virtual assistant|ai assistant|ai language model|machine)\b"
    r"|\bi am (?:just |only |merely |simply |actually |really )?(?:an? |the )?"
    r"(?:ai|a\.i\.|artificial intelligence|(?:large )?language model|llm|chatbot|chat bot|bot"
    r"|computer program|virtual assistant|ai assistant|ai language model|ai model|machine)\b"
    r"|\bi (?:do not|can not) (?:have|feel) (?:feelings|emotions|a body|personal experiences)\b"
)
NOT_AI = re.compile(
    r"\bi am not (?:an? )?(?:ai|a\.i\.|bot|robot|chatbot|machine|computer|program)\b"
    r"|\bi am (?:a )?(?:real |actual )?(?:person|human(?: being)?)\b|\bnot an? (?:ai|bot)\b"
    r"|\bjust me here\b|\bno way\b.*\bai\b|\bai\b.*\bno way\b|\bi am real\b"
    r"|(?<!not )(?<!never )\b(?:just |only )?an? (?:regular|normal|ordinary|real|actual"
    r"|flesh and blood|living)"
    r" (?:human(?: being)?|person|guy|girl|gal|dude|woman|man)\b|\bhuman here\b"
    r"|\bflesh and blood\b|^(?:as )?real as\b|\bi am (?:very much |definitely |100% )?human\b"
    r"|\b(?:a )?real live (?:person|human)\b"
)
AI_ADMIT = re.compile(
    r"^(?:yes|yeah|yep|that is right|correct|indeed|true)\b|^i am (?:just |only )?(?:an? )?"
    r"(?:ai|language model|chatbot|bot|virtual assistant|ai assistant|ai language model)"
    r"[\s.!,]*$"
)
AI_LACKS = re.compile(r"\bso i (?:do not|can not)\b|\bi do not have\b")
AI_EMPATHY = re.compile(r"\bfeel\b|\bemotions?\b|\bsorry\b|\bsounds like\b|\btalking to someone\b")
AI_ENGAGE = re.compile(r"\bchat\b|\bhow can i help\b|\bhappy to help\b|\bnothing much\b")
EMPATHY = re.compile(
    r"\bsorry to hear\b|\b(?:i am|so|really) sorry\b|\bthat (?:sounds|must be|must have been)"
    r" (?:really |so |very )?(?:hard|tough|difficult|rough|awful|terrible|painful|heavy"
    r"|exhausting|scary|frustrating|lonely|sad)\b|\boh no\b|\bi understand\b"
    r"|\bi (?:totally |really |completely )?get (?:that|it)\b"
    r"|\bthat is (?:so |really )?(?:hard|tough|rough)\b|\bhere for you\b|\bi can imagine\b"
    r"|\bsending (?:hugs|love)\b|\bhugs\b"
)
ENGAGE = re.compile(
    r"\bhow about you\b|\bwhat about you\b|\band you\b|\bpretty good\b|\bnot much\b"
    r"|\bfair question\b|\bgood, good\b|\bthanks for asking\b|\bwhat made you ask\b"
    r"|\btell me (?:more )?about (?:yourself|you)\b|\bwhat is new with you\b"
    r"|\bhow are you\b|\bhappy to chat\b|\bhow can i help\b"
    r"|\b(?:and |what about |how about )?(?:you|yours|yourself)\s*\?\s*$"
    r"|^(?:(?:oh|ah|well|honestly|ha|haha|hmm|eh|ugh),?\s+)*(?:good|great|fine|okay|ok|alright"
    r"|all right|not bad|pretty good|busy|tired|exhausted|long|crazy|hectic|quiet|slow|lovely"
    r"|wonderful|amazing|rough|meh|so-so|fantastic|awesome|relaxing|productive)\b"
)
EVADE = re.compile(
    r"^anyway\b|\b(?:rather not (?:say|talk|discuss|get into)|let us not (?:get into|talk about)"
    r"|i do not know|dunno|something else|change the subject|none of your business"
    r"|prefer not to|no comment)\b"
)


# ---------------------------------------------------------------------------------------------
# Free-text rules (tier 2): first-person cues per relation
# ---------------------------------------------------------------------------------------------

# "i" followed by auxiliaries/adverbs; a negation inside it negates the fact
SUBJ = (
    r"(?:^|\b)(?:i|we)\s+(?P<aux>(?:(?:do|does|did|am|are|have|has|had|will|would|could|can|"
    r"really|also|still|just|always|definitely|actually|absolutely|totally|honestly|truly|"
    r"certainly|never|not|no longer|usually|mostly|sometimes|often|kind of|sort of|even|only|"
    r"ever|currently|now|recently|finally|both|all|personally|pretty much|simply|so|too|"
    r"been|got|gotten|happen to|was|were|being|more|most|pretty|very|quite|already|"
    r"obviously|seriously|clearly|basically|literally|also|again|still)\s+)*)"
)
FILL = (
    r"(?P<fill>(?:(?:a|an|the|my|our|some|any|few|couple of|lot of|lots of|pet|little|big|"
    r"huge|cute|sweet|old|young|new|baby|really|very|real|true|definitely|actually|currently|"
    r"also|still|now|just|only|pretty|quite|more of|bit of|kind of|sort of|proud|full-time|"
    r"part-time|professional|licensed|certified|registered|good|great|bad|terrible|massive|"
    r"fan of|not|never|no|much of|so|too|such|an only|one|two|three|four|five|six|seven|"
    r"eight|nine|ten|\d+)\s+)*)"
)
NEG_WORDS = re.compile(r"\b(?:not|never|no longer|no)\b")
MODAL_SKIP = re.compile(
    r"\b(?:want|wanted|wants|wanting|wish|wished|hope|hoped|hoping|dream|dreamed|dreaming|"
    r"would(?! (?:not )?(?:say|call|describe|pick|go with|have to))|could(?! eat)|might|should|"
    r"plan|plans|planning|planned|(?:going to|gonna) (?:be|become|get|start|move|buy|try|have|"
    r"go|do|work|take|learn)|someday|some day|"
    r"one day|if|aspire|aspiring|try|tried|trying|thinking about|considering|used to|"
    r"was(?! born)|were(?! born)|retired|former|formerly|ex|wonder|maybe|perhaps|whether|"
    r"when i grow up|hopefully|"
    r"like to be|love to be|studying to|training to|learning to be|goal)\b"
)
CAREER = re.compile(
    r"\b(?:want|wanted|wants|wish|hope|hoping|dream|dreaming|plan|planning|aspire|aspiring|"
    r"goal|someday|some day|one day|would love|would like|going|studying|training|grow up)\b"
)
FIRST_PERSON = re.compile(r"\b(?:i|my|me|mine|myself)\b")

LIKE = (r"love|loved|like|liked|enjoy|adore|am (?:a )?(?:huge |big |real )?fan of|"
         r"am (?:really |so )?into|am obsessed with|am addicted to|am crazy about")


class Rule(NamedTuple):
    verbs: str | None  # after "I (aux)": verb phrase before the value
    left: str | None  # a literal left context (no subject needed)
    right: str | None  # required right context (value followed by ...)
    skip: frozenset[str] = frozenset()  # values this rule does not apply to


RULES: dict[str, tuple[Rule, ...]] = {
    "has_profession": (
        Rule(r"am|work as|am working as|have been working as|make a living as|"
              r"earn a living as|am employed as|have a job as|got a job as|work full-time as|"
              r"work part-time as", None, None),
        Rule(None, r"my job is|i work as", None),
    ),
    "career_goal": (
        Rule(r"want to be|want to become|wanted to be|wanted to become|hope to be|hope to become|"
              r"hope to work as|dream of being|dream of becoming|would love to be|"
              r"would like to be|am hoping to become|am going to be|plan to become|"
              r"plan to be|am studying to be|am studying to become|am training to be|"
              r"am training to become|aspire to be|want to work as|would love to become|"
             r"would like to become|am hoping to be|hope to become|dream of being", None, None),
        Rule(None, r"my dream is to become|my dream is to be|my goal is to become|"
              r"my goal is to be|my dream job is|when i grow up i want to be|"
              r"i want to grow up to be", None),
    ),
    "have_pet": (
        Rule(r"have|have got|got|own|adopted|rescued|am the owner of|am the proud owner of|"
              r"live with|take care of", None, None),
        Rule(None, r"my|our|pet", None),
    ),
    "live_in": (
        Rule(r"live in|am living in|am based in|am in|reside in|moved to|call|live|am located in|"
             r"am out in|am over in|am up in|am down in|am based out of", None, None),
        Rule(None, r"my home is in|my home is|home is", None),
    ),
    "born_in": (
        Rule(r"was born in|am originally from|am from|come from|was born and raised in|"
             r"hail from", None, None),
        # "I'm Irish": a nationality (EXTRA_SURFACES) read as the birthplace
        Rule(r"am|am originally", None, None),
        Rule(None, r"my birthplace is|my family is from", None),
    ),
    "marital_status": (
        Rule(r"am|got|am happily|am newly|am recently|have been|just got|recently got|"
             r"am currently|call myself", None,
             r"(?! to (?:my|the|his|her) (?:job|work|career|art|craft|kitchen)\b)"),
        Rule(None, r"my relationship status is", None),
    ),
    "like_food": (
        Rule(LIKE + r"|eat|could eat|can never say no to|crave|am a sucker for", None, None),
        Rule(None, r"my favou?rite foods? (?:is|are)|my favou?rite thing to eat is", None),
    ),
    "dislike_food": (
        Rule(r"hate|dislike|can not stand|detest|loathe|despise|refuse to eat|have never liked",
              None, None),
    ),
    "diet": (
        Rule(r"am|follow a|eat|am on a|stick to a|went|have gone|have been|am strictly|"
              r"am a strict|am mostly", None, None),
    ),
    "like_drink": (
        Rule(LIKE + r"|drink|love drinking|like drinking|enjoy drinking|can not get enough of|"
              r"live on|run on|am addicted to", None, None),
        Rule(None, r"my favou?rite drinks? (?:is|are)|my drink of choice is", None),
    ),
    "like_music": (
        Rule(LIKE + r"|listen to|love listening to|like listening to|enjoy listening to|"
              r"am (?:really )?into", None, r"\s+(?:music|songs|bands?|albums?|artists?)\b"),
        Rule(r"listen to|love listening to|like listening to|enjoy listening to|"
              r"am (?:a )?(?:huge |big |real )?fan of|am (?:really )?into", None, None),
        Rule(LIKE, None, None, frozenset({"country", "rock", "pop", "metal", "folk", "blues",
                                            "punk", "classical", "techno"})),
        Rule(None, r"my favou?rite (?:kind of |type of )?music is|"
              r"my favou?rite (?:music )?genre is", None),
    ),
    "favorite_color": (
        Rule(None, r"my favou?rite colou?r is|i love the colou?r|i like the colou?r", None),
        Rule(r"wear", None, None),
        Rule(None, None, r"\s+is my favou?rite colou?r"),
    ),
    "has_hobby": (
        Rule(LIKE + r"|love to go|like to go|go|do|practice|am good at|spend my time|"
              r"spend my free time|play|like to play|love to play|enjoy playing|"
              r"have gotten (?:really )?into|got into|am really into", None, None,
              frozenset({"running"})),
        Rule(None, r"my hobby is|my hobbies are|one of my hobbies is|my hobbies include|"
              r"in my free time i (?:enjoy|like|love)|my free time goes to", None),
        Rule(r"love|enjoy|go|like|am into|am really into|have gotten into|"
              r"have gotten really into", None,
              r"\s*(?:[,.!]|$|\s+(?:and|every|on|in|marathons|a lot|every day|whenever|lately))",
              frozenset()),
    ),
    "favorite_sport": (
        Rule(None, r"my favou?rite sport is", None),
        Rule(None, None, r"\s+is my favou?rite sport"),
        Rule(r"am a|am a huge|am a big", None, r"\s+fan\b"),
        Rule(r"love", None, r"\s+more than any other sport"),
    ),
    "favorite_season": (
        Rule(None, r"my favou?rite season is", None),
        Rule(None, None, r"\s+is my favou?rite season"),
        Rule(r"love", None, r"\s+more than any other season"),
        Rule(r"look forward to", None, r"\s+every year"),
    ),
    "favorite_book_genre": (
        Rule(LIKE + r"|read|mostly read|love reading|like reading|enjoy reading", None,
              r"\s+(?:books?|novels?|stories)\b"),
        Rule(None, r"my favou?rite (?:book )?genre(?: of books?)? is|"
              r"my favou?rite genre of books? is", None),
    ),
    "favorite_movie_genre": (
        Rule(LIKE + r"|watch|love watching|like watching|enjoy watching|am all about", None,
              r"\s+(?:movies?|films?|flicks)\b"),
        Rule(None, r"my favou?rite movie genre is|my favou?rite (?:kind|type) of movies? is",
              None),
    ),
    "play_instrument": (
        Rule(r"play|am learning to play|have been playing|know how to play|am good on|"
              r"am pretty good on|mess around on|can play|am learning the|learned to play|"
              r"learned the", None, None),
    ),
    "attend_school": (
        Rule(r"go to|am in|am at|attend|am attending|am enrolled in|am studying at|"
              r"am a student at|am going to|study at", None, None),
    ),
    "favorite_subject": (
        Rule(None, r"my favou?rite subject is|my favou?rite class is", None),
        Rule(LIKE + r"|always did best in|did best in", None,
              r"\s+(?:class|classes|best|most)\b"),
        Rule(None, None, r"\s+is my favou?rite subject"),
    ),
    "own_vehicle": (
        Rule(r"own|have|have got|got|drive|bought|ride|just bought|recently bought", None,
              None),
        Rule(None, r"i get around (?:with|in|on) my|my", None),
    ),
    "height": (
        Rule(r"am|have always been|call myself|am pretty|am very|am rather", None,
              r"\s*(?:[,.!;]|$|\s+(?:and|but|for my age|actually|too))"),
    ),
    "hair_color": (
        Rule(r"have|have got|got", None, r"\s+hair\b"),
        Rule(None, r"my hair is|i dyed my hair", None),
    ),
    "eye_color": (
        Rule(r"have|have got|got", None, r"\s+eyes\b"),
        Rule(None, r"my eyes are", None),
    ),
    "dominant_hand": (
        Rule(r"am", None, r"[- ]handed\b"),
        Rule(r"write with my|use my|do most things with my|do everything with my", None,
              r"\s+hand\b"),
    ),
    "speak_language": (
        Rule(r"speak|am fluent in|can speak|can get by in|know|speak fluent|am a native",
              None, None),
        Rule(None, r"my (?:first|native|mother) (?:language|tongue) is", None),
    ),
    "fear": (
        Rule(r"am afraid of|am scared of|am terrified of|have a fear of|have a phobia of|fear|"
              r"am frightened of|am deathly afraid of|have no fear of|am so scared of|"
              r"am really afraid of|am scared to death of|have a real phobia of|"
              r"am petrified of|panic around",
              None, None),
    ),
    "sleep_schedule": (
        Rule(r"am|have always been|am more of|am more|call myself", None, None),
    ),
    "health_condition": (
        Rule(None, r"my", None),
        Rule(r"have|have got|suffer from|have been dealing with|deal with|struggle with|"
              r"live with|was diagnosed with|got diagnosed with|am dealing with|battle",
              None, None),
    ),
    "stress_source": (
        Rule(r"am stressed about|am stressed out about|worry about|worry a lot about|"
              r"am worried about|lose sleep over|am anxious about|stress about|"
              r"have been stressed about|have been worrying about", None, None),
    ),
    "personality": (
        Rule(r"am|call myself|am more of|am a bit of|have always been", None, None),
    ),
}

EXTRA_SURFACES: dict[str, dict[str, str]] = {
    "born_in": {"mexican": "Mexico", "canadian": "Canada", "irish": "Ireland",
                "brazilian": "Brazil", "japanese": "Japan", "indian": "India", "german": "Germany",
                "nigerian": "Nigeria", "australian": "Australia", "polish": "Poland",
                "italian": "Italy", "vietnamese": "Vietnam", "kenyan": "Kenya",
                "swedish": "Sweden"},
    "career_goal": {"vet": "veterinarian", "cop": "police officer"},
    "dominant_hand": {"lefty": "left", "righty": "right", "southpaw": "left"},
    "favorite_subject": {"bio": "biology", "chem": "chemistry", "psych": "psychology",
                         "econ": "economics", "maths": "math"},
    "have_pet": {"mutt": "dog", "puppy": "dog", "puppies": "dog", "pup": "dog", "doggo": "dog",
                 "retriever": "dog", "labrador": "dog", "poodle": "dog", "beagle": "dog",
                 "terrier": "dog", "bulldog": "dog", "husky": "dog", "kitten": "cat",
                 "kittens": "cat", "kitty": "cat", "bunny": "rabbit", "bunnies": "rabbit"},
    "marital_status": {"widower": "widowed", "widow": "widowed"},
    "favorite_season": {"autumn": "fall"},
    "personality": {"introverted": "introvert", "extroverted": "extrovert",
                    "extravert": "extrovert", "extraverted": "extrovert"},
    "sleep_schedule": {"morning person": "early bird", "night person": "night owl",
                       "early riser": "early bird"},
    "has_profession": {"software developer": "software engineer", "cook": "chef"},
    "like_music": {"hip-hop": "hip hop", "rap": "hip hop"},
    "like_food": {"burger": "burgers", "taco": "tacos", "steaks": "steak"},
    "dislike_food": {"burger": "burgers", "taco": "tacos", "steaks": "steak"},
    "has_hobby": {"rock-climbing": "rock climbing", "videogames": "video games",
                  "gaming": "video games", "hikes": "hiking", "hike": "hiking",
                  "paint": "painting", "knit": "knitting", "garden": "gardening",
                  "fish": "fishing", "surf": "surfing", "bake": "baking", "run": "running",
                  "dance": "dancing"},
    "own_vehicle": {"pickup": "pickup truck", "truck": "pickup truck", "bike": "bicycle",
                    "motorbike": "motorcycle", "van": "minivan", "rv": "camper van",
                    "camper": "camper van"},
    "favorite_movie_genre": {"sci-fi": "science fiction", "scifi": "science fiction",
                             "comedies": "comedy", "dramas": "drama"},
    "favorite_book_genre": {"sci-fi": "science fiction", "scifi": "science fiction"},
}

# relations whose tier-2 value must not be read when the clause is aspirational or past
ASPIRATION_OK = frozenset({"career_goal"})


IRREGULAR = {
    "have": "have|has|had|having", "eat": "eat|eats|ate|eaten|eating",
    "drink": "drink|drinks|drank|drunk|drinking", "go": "go|goes|went|gone|going",
    "do": "do|does|did|done|doing", "ride": "ride|rides|rode|ridden|riding",
    "drive": "drive|drives|drove|driven|driving", "speak": "speak|speaks|spoke|spoken|speaking",
    "know": "know|knows|knew|known|knowing", "come": "come|comes|came|coming",
    "read": "read|reads|reading", "make": "make|makes|made|making",
    "lose": "lose|loses|lost|losing",
    "take": "take|takes|took|taken|taking", "deal": "deal|deals|dealt|dealing",
    "wear": "wear|wears|wore|worn|wearing", "learn": "learn|learns|learned|learnt|learning",
    "get": "get|gets|got|gotten|getting", "buy": "buy|buys|bought|buying",
    "run": "run|runs|ran|running", "swim": "swim|swims|swam|swimming",
    "stand": "stand", "say": "say", "call": "call|calls|called|calling",
    "plan": "plan|plans|planned|planning", "stop": "stop|stops|stopped|stopping",
}
NOT_VERBS = frozenset({"a", "an", "the", "into", "in", "at", "from", "to", "fan", "afraid",
                        "scared", "terrified", "my", "on", "of", "with", "born", "based",
                        "fluent", "all", "more", "pretty", "very", "really", "mostly",
                        "always", "never", "not", "no", "so", "big", "huge", "obsessed",
                        "addicted", "crazy", "happily", "newly", "recently", "currently",
                        "strictly", "rather", "definitely", "good", "located", "stressed",
                        "worried", "anxious", "deathly", "frightened", "petrified", "employed",
                        "originally", "enrolled", "hoping", "going", "studying", "training",
                        "working", "also", "just", "still", "can", "could", "would", "will",
                        "got", "gotten", "been", "bit", "sucker", "native", "proud", "owner",
                        "dealing", "attending", "living", "hail"})
NEG_EXEMPT = re.compile(r"can never say no to|can not stand|can not get enough of|"
                         r"never say no to")


def trie_regex(words: set[str]) -> str:
    """One regex matching any of ``words``, longest first, shaped as a trie (fast to scan)."""
    trie: dict[str, dict] = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


def split_top(pattern: str) -> list[str]:
    """Split a regex alternation at its top level (not inside parentheses)."""
    out, depth, cur = [], 0, []
    for ch in pattern:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "|" and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def inflect(word: str) -> str:
    if word in IRREGULAR:
        return f"(?:{IRREGULAR[word]})"
    if not word.isalpha() or word in NOT_VERBS:
        return word
    if word.endswith("e"):
        return f"{word[:-1]}(?:e|es|ed|ing)"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return f"{word[:-1]}(?:y|ies|ied|ying)"
    return f"{word}(?:s|es|ed|ing)?"


def inflect_all(verbs: str) -> str:
    """Verb phrases with a leading "am" dropped (the subject's auxiliaries cover it) and the
    first word inflected (love -> loves, loved, loving)."""
    out = []
    for alt in split_top(verbs):
        alt = alt.strip()
        if alt == "am":
            out.append("am|be|been")
            continue
        if alt.startswith("am ") and len(alt) > 3:
            alt = alt[3:]
        first, _, rest = alt.partition(" ")
        out.append(inflect(first) + (" " + rest if rest else ""))
    return "|".join(dict.fromkeys(out))


CONJ_TAIL = re.compile(r"\s*(?:,\s*(?:and|or)?|\band|\bor|&)\s+(?:(?:a|an|the|my|some|one|two|"
                        r"three|four|five|\d+)\s+)*$")
NONE_HINT = re.compile(r"\b(?:no|not|never|without|zero|only|fearless|nothing|perfect|healthy|"
                        r"fit|bus|childless)\b")
NUMBER_HINT = re.compile(rf"\d|\b(?:a|an|{NUM_WORD_RE})\b")
CUE_SPAN = 90
"""How many characters before a value mention the free-text rules look at for its cue."""
HANDED = re.compile(r"-handed\b")
HEDGE = re.compile(
    r"^(?:i (?:really |do |just )?(?:think|guess|bet|believe|hope|know|suppose|agree|feel like|"
    r"can tell|can imagine|understand|see|mean)|i am (?:sure|glad|happy|certain|afraid)|"
    r"i would say|i have heard|i heard)(?: that)?,? (?=(?:i|you|it|they|he|she|we|that|this|"
    r"there|your|my)\b)"
)
YES = re.compile(r"^(?:yes|yeah|yep|sure|oh|well|so|ha|hmm),\s+")
LEAD = re.compile(
    r"^(?:(?:yes|yeah|yep|yup|no|nope|nah|oh|well|so|actually|honestly|ha|haha|hmm|um|wow|"
    r"sure|ok|okay|right|true|of course|definitely|also|and|but|plus|anyway|again|"
    r"like i said|as i mentioned|like i told you|i will be honest|to be honest|at the moment|"
    r"these days|lately|now|currently|right now|personally|me too|same here|same|not much|"
    r"not really|no problem|not bad|no worries|not at all|no way|not yet|not quite|of course not)"
    r"[\s,!.]+)+"
)
CLAUSE_SPLIT = re.compile(  # the lookahead makes it fail fast inside words
    r"(?=[;,\s])(?:\s*;\s*|,?\s+(?:(?:but|because|although|though|while|since|whereas"
    r"|except)\s+|(?:so|then)\s+(?=i\b)|and\s+(?=(?:i|my)\b)|-\s+)|,\s+(?=(?:i|my)\b))"
)
LIST_GAP = re.compile(
    r"^\s*(?:,\s*(?:and|or)?|and|or|&)\s+(?:(?:a|an|the|my|two|three|four|five|one|some|"
    r"\d+)\s+)?$"
)
NONE_RELATIONS = frozenset({"have_pet", "have_children", "have_sibling", "attend_school",
                             "play_instrument", "own_vehicle", "fear", "health_condition"})
NO_ANY = r"(?:no|not (?:have|own|got|keep)(?: any| a single)?|never (?:had|owned|have had|" \
          r"have owned)(?: any| a)?|without(?: any)?|have zero|zero)"
NONE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("have_pet", re.compile(rf"\b{NO_ANY}\s+(?:pets?|animals?)\b|\bnot an animal person\b"
                            r"|\bnever owned a pet\b|\bno pets\b")),
    ("have_children", re.compile(rf"\b{NO_ANY}\s+(?:kids|children|child)\b"
                                 r"|\bnot (?:a )?(?:parent|mom|dad|mother|father)\b(?! of)"
                                 r"|\bchildless\b|\bno kids\b")),
    ("have_sibling", re.compile(rf"\bonly child\b|\b{NO_ANY}\s+(?:siblings|brothers or sisters"
                                r"|brothers and sisters)\b|\bno siblings\b")),
    ("attend_school", re.compile(r"\bnot (?:in|at|going to|go to|attending) school\b"
                                 r"|\bnot a student\b|\bschool is not part of my life\b"
                                 r"|\bdo not go to school\b|\bout of school\b"
                                 r"|\b(?:finished|done with|graduated from|left) (?:high )?school\b"
                                 r"|\bgraduated (?:years|a while|a long time|ages) ago\b")),
    ("play_instrument", re.compile(r"\bnot play (?:any |an )?(?:musical )?instruments?\b"
                                   r"|\bcan not play (?:a |an |any )(?:musical )?instrument\b"
                                   r"|\bnever learned (?:an |any |a )?(?:musical )?instrument\b"
                                   r"|\bnever learned to play anything\b|\bnot musical\b"
                                   r"|\bno instruments\b|\bnot play anything\b"
                                   r"|\bnever played (?:an |any |a )?(?:musical )?instruments?\b")),
    ("own_vehicle", re.compile(r"\b(?:not|never) (?:own|have|had|owned) (?:a|any) (?:car|vehicle"
                               r"|wheels)\b|\bno (?:car|vehicle)\b|\btake the bus everywhere\b"
                               r"|\bnot have any wheels\b|\bget around by bus\b")),
    ("fear", re.compile(r"\bnot (?:afraid|scared) of anything\b|\bnothing (?:really )?scares me\b"
                        r"|\bfearless\b|\bno fears\b|\bnot (?:really )?have any fears\b")),
    ("health_condition", re.compile(r"\bperfect health\b|\bno health (?:problems|issues)\b"
                                    r"|\bnot have any health (?:problems|issues)\b"
                                    r"|\bhealthy as can be\b|\bas fit as a fiddle\b")),
)
AGE_RE = re.compile(
    rf"\b(?:i (?:(?P<neg>am not|will not be|am no longer) |am |am only |am just |am almost |"
    rf"am nearly |am now |(?:just |recently |only )?turned |will be |will turn |am turning )"
    rf"|my age is )(?P<n>{NUM_RE})"
    r"(?:[- ]years?[- ](?:old|young)|[- ]years?|[- ]yrs?(?: old)?)?"
    r"(?=\s*(?:[,.!;?]|$|and\b|but\b|so\b|now\b|this\b|next\b|actually\b|believe\b"
    r"|already\b|soon\b|today\b|in\b|too\b|myself\b|though\b|tomorrow\b|last\b"
    r"|yesterday\b))"
    rf"|\bi am (?:(?P<neg2>not) )?an? (?P<n2>{NUM_RE})[- ](?:years?|yr)[- ]old\b"
)
KIDS_RE = re.compile(
    rf"\b(?:i (?P<neg>(?:do|did) not |have not )?(?:have|have got|got|am raising|raise|raised)"
    rf"|i am (?P<neg2>not )?(?:a |the )?(?:proud )?(?:parent|mom|dad|mother|father|mum) of|"
    rf"being a (?:parent|mom|dad|mother|father) of|i am a (?:parent|mom|dad) to)"
    rf"\s+(?P<n>a|an|{NUM_RE})\s+(?:(?:little|young|grown|wonderful|beautiful|amazing|"
    rf"great|lovely|adult)\s+)?(?:kids?|children|child|sons?|daughters?|boys|girls)\b"
    r"(?!\s+and\s+(?:a|an|one|two|three|\d)\s+(?:\w+\s+)?(?:sons?|daughters?|boys?|girls?)\b)"
)
SIB = r"(?P<w{i}>brothers?|sisters?)"
SIBLINGS_RE = re.compile(
    rf"\bi (?P<neg>(?:do|did) not |have not )?(?:have|have got|got|grew up with|grow up with)\s+"
    rf"(?:(?:just|only)\s+)?(?P<n1>a|an|{NUM_RE})\s+(?:(?:older|younger|big|little|twin)\s+)?"
    + SIB.format(i=1)
    + rf"(?:\s+and\s+(?P<n2>a|an|{NUM_RE})\s+(?:(?:older|younger|big|little|twin)\s+)?"
    + SIB.format(i=2)
    + r")?(?!\s+(?:in law|in-law))"
)


def sibling_value(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    b, s = counts.get("brother", 0), counts.get("sister", 0)
    if b == 1 and s == 1:
        return "a brother and a sister"
    if b and not s and b < len(COUNT_WORDS):
        return f"{COUNT_WORDS[b]} brother{'s' if b > 1 else ''}"
    if s and not b and s < len(COUNT_WORDS):
        return f"{COUNT_WORDS[s]} sister{'s' if s > 1 else ''}"
    return ""


# ---------------------------------------------------------------------------------------------
# The clause lexicon of the free-text judge
# ---------------------------------------------------------------------------------------------

def split_words(text: str) -> list[str]:
    return text.split()


STOP = frozenset(split_words("""
a an the and or but so to of in on at for with from by about as into over after before than
then too very really just also even still only ever again i me my mine myself we us our ours
you your yours yourself he him his she her hers they them their it its this that these those
there here what which who whom whose when where why how am is are was were be been being do
does did done doing have has had having will would can could should shall may might must
oh wow yes yeah yep yup nope ok okay well hey hi hello haha lol um hmm cool nice great awesome
amazing good fun sure thanks thank please sorry glad thing things stuff something anything
everything lot lots kind sort way bit some any all every each much many more most other
another own same such s t d ll ve re m let lets us gonna wanna gotta right now today totally
definitely absolutely probably maybe perhaps actually honestly literally pretty quite rather
sound sounds like that's it's isn't interesting cool wonderful fantastic lovely true since
while though although because if whether either both one ones someone somebody anyone
everyone tell say said ask asked mean means guess suppose sound seem seems used
"""))
# low-information words: they count a little towards overlap, never alone
GENERIC = {
    "like": 0.3, "hate": 0.3, "go": 0.3, "get": 0.3, "make": 0.3, "take": 0.3, "come": 0.3,
    "see": 0.3, "look": 0.3, "want": 0.3, "know": 0.3, "think": 0.3, "feel": 0.3, "try": 0.3,
    "need": 0.3, "use": 0.3, "spend": 0.3, "time": 0.3, "day": 0.3, "year": 0.3, "week": 0.3,
    "month": 0.3, "people": 0.3, "person": 0.3, "friend": 0.4, "life": 0.3, "work": 0.4,
    "live": 0.4, "home": 0.4, "family": 0.5, "play": 0.4, "watch": 0.4, "listen": 0.3,
    "eat": 0.4, "drink": 0.5, "food": 0.4, "music": 0.5, "read": 0.5, "book": 0.5,
    "movie": 0.5, "always": 0.2, "usually": 0.2, "often": 0.2, "sometimes": 0.2, "new": 0.3,
    "old": 0.3, "big": 0.3, "little": 0.3, "small": 0.3, "school": 0.5, "place": 0.3,
    "enjoy": 0.3, "start": 0.3, "keep": 0.3, "help": 0.3, "love": 0.3, "favorite": 0.3,
    "well": 0.2, "lot": 0.2, "first": 0.3, "last": 0.3, "next": 0.3, "best": 0.3,
    "part": 0.3, "whole": 0.3, "name": 0.4, "called": 0.3, "happy": 0.3, "busy": 0.3,
    "hard": 0.3, "easy": 0.3, "long": 0.3, "high": 0.4, "lately": 0.2, "recently": 0.2,
    "pet": 0.5, "child": 0.6, "sibling": 0.5, "meat": 0.6, "alcohol": 0.6, "grow": 0.3,
    "up": 0.2, "out": 0.2, "back": 0.2, "away": 0.2, "around": 0.2, "together": 0.3,
    "house": 0.5, "city": 0.5, "town": 0.5, "job": 0.4, "money": 0.5,
    "young": 0.4, "bad": 0.3, "better": 0.3, "free": 0.3, "weekend": 0.4, "night": 0.4,
    "morning": 0.4, "kind": 0.2, "type": 0.2, "fan": 0.3, "remember": 0.3, "imagine": 0.3,
    "believe": 0.3, "understand": 0.3, "agree": 0.3, "hear": 0.3, "heard": 0.3, "meet": 0.3,
    "met": 0.3, "wait": 0.3, "learn": 0.3, "check": 0.3, "idea": 0.3,
    "unsure": 0.0, "eager": 0.0, "wish": 0.0, "brave": 0.2, "enough": 0.2, "unskilled": 0.3,
    "glad": 0.2, "excited": 0.3, "sure": 0.0,
    "different": 0.3, "special": 0.3, "real": 0.3, "able": 0.2, "everyday": 0.3,
}
SYNONYMS = {
    "kid": "child", "kids": "child", "children": "child", "son": "child", "sons": "child",
    "daughter": "child", "daughters": "child", "mom": "mother", "mum": "mother",
    "mommy": "mother", "mama": "mother", "moms": "mother", "dad": "father", "daddy": "father",
    "papa": "father", "dads": "father", "film": "movie", "films": "movie", "flick": "movie",
    "flicks": "movie", "afraid": "fear", "scared": "fear", "terrified": "fear",
    "frightened": "fear", "phobia": "fear", "fears": "fear", "scare": "fear", "scares": "fear",
    "job": "work", "jobs": "work", "career": "work", "employed": "work", "working": "work",
    "worked": "work", "works": "work", "vehicle": "car", "cars": "car", "auto": "car",
    "puppy": "dog", "puppies": "dog", "doggy": "dog", "dogs": "dog", "kitten": "cat",
    "kittens": "cat", "kitty": "cat", "cats": "cat", "broke": "break", "broken": "break",
    "breaking": "break", "bicycle": "bike", "biking": "bike", "cycling": "bike",
    "bikes": "bike", "television": "tv", "photography": "photo", "photographer": "photo",
    "photos": "photo", "pictures": "photo", "chef": "cook", "cooking": "cook",
    "ran": "run", "running": "run", "runner": "run", "swimming": "swim", "swimmer": "swim",
    "travelling": "travel", "traveling": "travel", "traveler": "travel", "travels": "travel",
    "favourite": "favorite", "favorites": "favorite", "favourites": "favorite",
    "loved": "love", "loving": "love", "loves": "love", "adore": "love", "passion": "love",
    "liked": "like", "likes": "like", "enjoying": "enjoy", "enjoyed": "enjoy",
    "enjoys": "enjoy", "hated": "hate", "hates": "hate", "dislike": "hate",
    "detest": "hate", "loathe": "hate", "despise": "hate", "colour": "color",
    "colours": "color", "colors": "color", "women": "woman", "men": "man", "guys": "man",
    "guy": "man", "gal": "woman", "lady": "woman", "ladies": "woman", "male": "man",
    "female": "woman", "hubby": "husband", "wed": "married", "marry": "married",
    "married": "married", "wedding": "married", "divorce": "divorced", "bro": "brother",
    "sis": "sister", "grandkids": "grandchild", "grandchildren": "grandchild",
    "grandkid": "grandchild", "fishing": "fish", "fished": "fish", "skydive": "skydiving",
    "sky": "sky", "storey": "story", "stories": "story", "storeys": "story", "drove": "drive",
    "driving": "drive", "driver": "drive", "sang": "sing", "singer": "sing", "singing": "sing",
    "wrote": "write", "writer": "write", "writing": "write", "taught": "teach",
    "teacher": "teach", "teaching": "teach", "bought": "buy", "went": "go", "gone": "go",
    "going": "go", "ate": "eat", "eaten": "eat", "eating": "eat", "drank": "drink",
    "drinking": "drink", "got": "get", "gotten": "get", "made": "make", "took": "take",
    "saw": "see", "seen": "see", "knew": "know", "thought": "think", "felt": "feel",
    "spent": "spend", "grew": "grow", "grown": "grow", "lived": "live", "living": "live",
    "lives": "live", "plays": "play", "played": "play", "playing": "play", "player": "play",
    "players": "play", "watched": "watch", "watching": "watch", "reading": "read",
    "reader": "read", "books": "book", "novel": "book", "novels": "book", "sports": "sport",
    "games": "game", "gaming": "game", "gamer": "game", "hiking": "hike", "hikes": "hike",
    "hiker": "hike", "hiked": "hike", "dancing": "dance", "dancer": "dance", "danced": "dance",
    "painting": "paint", "painter": "paint", "paintings": "paint", "baking": "bake",
    "baker": "bake", "gardening": "garden", "gardener": "garden", "knitting": "knit",
    "sewing": "sew", "farming": "farm", "farmer": "farm", "farms": "farm", "vegans": "vegan",
    "vegetarians": "vegetarian", "olives": "olive", "horses": "horse", "cows": "cow",
    "studying": "study", "studied": "study", "studies": "study", "student": "study",
    "students": "study", "retirement": "retired", "retire": "retired", "retiring": "retired",
    "volunteering": "volunteer", "volunteered": "volunteer", "volunteers": "volunteer",
    "nurses": "nurse", "nursing": "nursing", "musician": "music", "musical": "music",
    "casino": "gambling", "casinos": "gambling", "gamble": "gambling", "gambler": "gambling",
    "church": "church", "christian": "christian", "christianity": "christian",
}
HYPERNYMS = {
    "instrument": ("violin", "guitar", "piano", "drums", "cello", "flute", "saxophone",
                   "trumpet", "ukulele", "bass", "harp", "banjo", "clarinet", "keyboard"),
    "alcohol": ("wine", "beer", "vodka", "whiskey", "whisky", "liquor", "booze", "cocktail",
                "cocktails", "tequila", "rum", "gin", "champagne", "alcoholic", "beers",
                "wines", "bourbon", "margarita", "margaritas", "drunk"),
    "pet": ("dog", "cat", "fish", "goldfish", "horse", "cow", "lab", "labrador", "retriever",
            "poodle", "beagle", "terrier", "shepherd", "bulldog", "husky", "chihuahua",
            "hamster", "parrot", "turtle", "tortoise", "snake", "rabbit", "bunny", "lizard",
            "pig", "goat", "pony", "ferret", "gecko", "iguana", "bird", "parakeet", "mutt"),
    "meat": ("steak", "bacon", "burger", "burgers", "cheeseburger", "cheeseburgers",
             "hamburger", "hamburgers", "beef", "pork", "ham", "sausage", "sausages", "ribs",
             "brisket", "meatballs", "bbq", "barbecue", "chicken", "turkey", "lamb", "veal",
             "hotdogs", "pepperoni", "salami", "jerky"),
}
HYPER_OF = {w: h for h, words in HYPERNYMS.items() for w in words}
WORD_RE = re.compile(r"[a-z]+(?:-[a-z]+)*|\d+")
NEG_TRIGGERS = frozenset({"not", "never", "no", "zero", "nothing", "nobody", "none",
                           "neither", "nor", "without", "hardly", "barely", "hate", "dislike",
                           "detest", "loathe", "despise", "hated", "hates", "quit", "stopped"})
# words after these are "not so" for the speaker (-1): "I've always wanted to ski"
ASPIRATION = re.compile(
    r"\b(?:(?:have )?always wanted|have wanted|wanted to|wish i|dream of|dreamed of|dreaming of|"
    r"have yet to|not yet|could never|(?:want|wanted|would love|would like|need|have|going)"
    r" to (?:learn|try)|should try|might try|(?:want|wanted|would love|would like) to go to"
    r"|wish i (?:could|had|was|were|knew how to)|brave enough to|not much of an?"
    r"|not (?:a )?(?:big |huge )?fan of)\b"
)
# words after these are neither asserted nor denied (0): "I'd love to go", "if I had a dog",
# "I've always been interested in the military" (curiosity is not being or doing)
IRREALIS = re.compile(
    r"\b(?:(?:have )?always been (?:interested in|fascinated by|curious about)|"
    r"(?:would|could|should|might)(?! not| never)|maybe|perhaps|if|hope|hoping|hopefully|"
    r"someday|some day|"
    r"one day|plan to|planning|planned|thinking about|thinking of|want to|wants to|will have to|"
    r"next time|unsure|eager|unskilled|studying to|in school to|training to|to be an?|"
    r"to become|looking forward|going to|will be|whether|wonder|imagine|imagined|pretend|"
    r"dreamt|dream|dreams|goal)\b"
)
RELATIVE = re.compile(r"\b(?:who|which|whom|whose)\b")
NEUTRALIZE = re.compile(
    r"\b(?:not sure|can not wait|can not (?:even )?(?:believe|imagine)|no problem|not only|"
    r"never mind|no matter|not bad|not (?:very |that |really |so |too )?good at|no worries|"
    r"not a problem|no doubt|no idea|(?:have )?(?:never|not) met)\b"
)
NEUTRAL_WORD = {"not sure": "unsure", "can not wait": "eager", "not only": "also"}
# a clause that denies the clause before it by pointing back at it: "I've always been
# interested in wrestling, but I've never had the chance to try it", "I used to love to knit,
# but I haven't done it in a while", "..., but I'm not sure I have what it takes"
BACK_DENIAL = re.compile(
    r"^i (?:have |had )?(?:never|not|yet to)\b(?:\s+\w+){0,6}?\s+"
    r"(?:it|that|them|one|the chance|the opportunity|the time)\b"
    r"|^i am (?:not sure|unsure) (?:if |whether |that )?i (?:have|had|could|would) "
    r"(?:what it takes|do it|be good at it)"
)
# a bare noun phrase asked back ("Papaya?") is what a pronoun of the next sentence refers to
ECHO_NP = re.compile(
    r"^(?:a |an |the )?(?!(?:what|why|how|who|where|when|which|really|seriously|you|yours|me|"
    r"yes|yeah|no|nope|right|huh|oh|wow|ok|okay|sorry|and|so|is|are|do|did|can)\b)"
    r"(?P<np>[a-z][a-z-]*(?: [a-z][a-z-]*)?)\s*\?$")
ECHO_PRONOUN = re.compile(
    r"\b(?P<verb>had|have|tried|try|eaten|eat|heard of|seen|been to|done|played|made|read"
    r"|love|like|enjoy|hate)"
    r" (?:it|that|them|one|those|either(?: one)?(?: of (?:those|them|these))?|any of (?:those|"
    r"them|these)|both)\b")
# a reaction that names what the other speaker said ("Rock climbing sounds fun!"): it asserts
# nothing about the speaker, and a pronoun of the next sentence refers to its noun phrase
# ("... I've never tried it", "... I've never done either of those")
REACTION_NP = re.compile(
    r"^(?:(?:oh|wow|ah|ooh|yeah|haha|ha|cool|nice|well),? )*(?!(?:that|it|this|those|these|you|"
    r"your|yours|my|i|what|he|she|they|everything|all|which)\b)"
    r"(?P<np>[a-z][a-z'-]*(?: (?:and |or |& )?[a-z][a-z'-]*){0,3}) (?:sounds?|seems?|looks?|"
    r"must be) (?:(?:so|really|very|pretty|super|like|such|a lot of|so much|lots of|quite|"
    r"a|an) )*(?:fun|exciting|cool|amazing|interesting|great|awesome|scary|hard|challenging|"
    r"neat|nice|delicious|tasty|relaxing|dangerous|thrilling|wonderful|fascinating|intense|"
    r"adventurous|hobby|hobbies)\b[^,;]*$")
# single-word compounds whose first part is what they are about: "beekeeping" ~ "bee farmer",
# "birdwatching" ~ "birds", "horseback" ~ "horse"
COMPOUND_HEADS = ("keeping", "keeper", "watching", "watcher", "walking", "walker", "riding",
                  "rider", "sitting", "sitter", "making", "maker", "building", "builder",
                  "fighting", "fighter", "spotting", "training", "trainer", "back")
PLACEHOLDER = re.compile(r"\[[^\]]*\]|\((?:user|name)[^)]*\)|\buser [12]\b")


@lru_cache(maxsize=1 << 15)
def lemma(word: str) -> str:
    """A crude lemma: synonyms first, then suffixes, so "loved", "loving" and "love" meet,
    and so do "movie" and "movies", "hobby" and "hobbies"."""
    w = SYNONYMS.get(word, word)
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "i"
    elif len(w) > 4 and w.endswith(("sses", "shes", "ches", "xes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif (len(w) > 4 and w.endswith("ed")) or (len(w) > 5 and w.endswith("er")):
        w = w[:-2]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsaeiou":
        w = w[:-1]
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 2 and w.endswith("y"):
        w = w[:-1] + "i"
    return w


STOP_LEMMAS = STOP | {lemma(w) for w in STOP}
GENERIC_LEMMAS = {**{lemma(w): v for w, v in GENERIC.items()}, **GENERIC}

US_STATES = frozenset(split_words("""
alabama alaska arizona arkansas california colorado connecticut delaware
florida georgia hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland
massachusetts michigan minnesota mississippi missouri montana nebraska nevada ohio oklahoma
oregon pennsylvania tennessee texas utah vermont virginia washington wisconsin wyoming
""")) | {"new hampshire", "new jersey", "new mexico", "new york", "north carolina",
                "north dakota", "rhode island", "south carolina", "south dakota",
                "west virginia"}
COUNTRIES = frozenset(split_words("""
canada mexico usa america england britain uk scotland ireland wales
france germany spain italy portugal greece sweden norway denmark finland iceland poland russia
ukraine netherlands holland belgium switzerland austria hungary romania turkey egypt israel
india china japan korea vietnam thailand philippines indonesia malaysia australia zealand brazil
argentina chile peru colombia venezuela cuba jamaica nigeria kenya ghana ethiopia somalia
morocco pakistan iran iraq afghanistan
""")) | {"united states", "the united states", "the us", "the usa", "the uk",
                "united kingdom", "new zealand", "south africa", "south korea", "puerto rico"}
URBAN = frozenset({"city", "big city", "the city", "a city", "a big city", "downtown",
                    "an apartment in the city", "the suburbs", "suburbs", "a suburb"})
RURAL = frozenset({"the country", "country", "countryside", "the countryside", "a small town",
                    "small town", "a town", "a village", "village", "a farm", "farm",
                    "the middle of nowhere", "rural", "a rural area", "rural area",
                    "a rural farming community", "rural farming community",
                    "a farming community", "the woods", "the mountains"})
PLACE_RE = re.compile(
    r"\bi (?:currently |now |still |actually |also )?(?:live|am living|reside)"
    r"(?: with (?:my |our )?[a-z]+(?: and (?:my |our )?[a-z]+)?)?"  # "I live with my husband in"
    r" (?:in|is|is in|on|near|at|out in) (?P<p>[a-z][a-z .'-]*?)"
    r"(?=\s+(?:with|and|but|for|since|now|where|which|so|because|in|near|close|these|right"
    r"|by|area|region|myself|alone|too|as)\b|[,.!?;]|$)"
)
PLACE_WITHIN = re.compile(
    r"\s+in (?P<q>" + "|".join(sorted(US_STATES | COUNTRIES, key=len, reverse=True))
    + r")\b")
"""The state or country after a place: "a small town *in california*"."""
AGE_ANY = re.compile(
    rf"\b(?:i am|i just turned|i turned|i recently turned|i will be|i will turn|my age is|"
    rf"i am turning)(?: only| just| almost| nearly| now| about)? (?:a |an )?(?P<n>{NUM_RE})"
    r"(?:\s*(?:-|\s)?\s*(?:years?|yrs?)(?:\s*-?\s*old)?)?"
    r"(?=\s*(?:[,.!;?]|$|and\b|but\b|so\b|now\b|this\b|next\b|actually\b|believe\b|already\b"
    r"|soon\b|today\b|in\b|too\b|myself\b|though\b|tomorrow\b|yesterday\b|last\b|who\b"
    r"|woman\b|man\b|girl\b|boy\b|guy\b|lady\b|female\b|male\b|mom\b|dad\b|mother\b"
    r"|father\b|student\b|grandma\b|grandpa\b|kid\b|and\b|with\b|years\b))"
)
DECADE = re.compile(
    r"\bi am in my (?:(?:early|mid|late) )?(?P<d>teens|twenties|thirties|forties|fifties|"
    r"sixties|seventies|eighties|nineties|\d0s)\b"
)
DECADES = {"teens": 13, "twenties": 20, "thirties": 30, "forties": 40, "fifties": 50,
            "sixties": 60, "seventies": 70, "eighties": 80, "nineties": 90}
COUNT_RE = re.compile(rf"\b(?P<n>{NUM_RE}|a couple of|a pair of|a dozen)\s+(?:-\s*)?"
                      r"(?P<w>[a-z]+)")
COUNT_SKIP = frozenset({"year", "time", "day", "week", "month", "hour", "minute", "o",
                         "of", "or", "and", "to", "more", "less", "thing", "way", "point",
                         "percent", "am", "pm", "a", "the", "in", "at", "on", "for", "i",
                         "my", "is", "are", "was", "were", "but", "so", "who", "that"})

STAY_AT_HOME = "|".join(sorted({"mom", "dad", "mother", "father", "parent"}
                               | set(PERSONA_VALUES["stay_at_home"])))
"""Who stays at home (hand-listed and mined): "I'm a stay-at-home dad" is not working."""
HIGH_GRADES = "ninth|tenth|eleventh|twelfth|9th|10th|11th|12th"
"""High-school grades ("I'm in ninth grade" is high school; first to eighth grade a child)."""

# Mutually exclusive attributes of a speaker, read from first-person clauses.
SLOTS: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (slot, value, re.compile(pattern)) for slot, value, pattern in (
        ("gender", "male", r"\bi am (?:a |an )?(?:\d+ year old |[a-z]+ year old )?(?:single |"
                           r"stay-at-home |stay at home |proud |young |old |retired |"
                           r"widowed |divorced )?(?:male|man|guy|boy|dude|gentleman|father|"
                           r"dad|husband|grandfather|grandpa|widower|boyfriend|son|brother)\b"
                           r"(?! (?:of|to) (?:a|an|my|the))|\bi am (?:a )?(?:dad|father) of\b"),
        ("gender", "female", r"\bi am (?:a |an )?(?:\d+ year old |[a-z]+ year old )?(?:single |"
                             r"stay-at-home |stay at home |proud |young |old |retired |"
                             r"working |widowed |divorced )?(?:female|woman|girl|lady|mother|"
                             r"mom|mum|wife|grandmother|grandma|housewife|widow|girlfriend|"
                             r"daughter|sister|waitress|actress)\b(?! (?:of|to) (?:a|an|my|the))"
                             r"|\bi am (?:a )?(?:mom|mother) of\b|\bi am pregnant\b"),
        ("marital", "single", r"\bi am (?:still |currently |happily |very |totally )?single\b"
                              r"|\bi (?:have )?never (?:been )?married\b|\bi am not married\b"),
        ("marital", "never_rel", r"\bi (?:have )?never had a (?:steady |serious |real |long )?"
                                 r"(?:relationship|girlfriend|boyfriend)\b"),
        ("marital", "married", r"\bi am (?:happily |newly |recently |also )?married\b"
                               r"|\bmy (?:wife|husband|hubby|spouse)\b|\bwe have been married\b"
                               r"|\bi have (?:a )?(?:wife|husband)\b|\bi married\b"
                               r"|\bi have been (?:happily )?married\b"
                               r"|\bi got married\b"),
        ("marital", "engaged", r"\bi am (?:recently |newly )?engaged\b|\bmy (?:fiance|fiancee)\b"
                               r"|\bi am getting married\b|\b(?:getting ready for|planning) (?:my|"
                               r"our) wedding\b|\bi am (?:about to |going to )?(?:marry|marrying)"
                               r" my (?:boyfriend|girlfriend|partner)\b"),
        ("marital", "dating", r"\bmy (?:boyfriend|girlfriend)\b(?! of\b)|\bi (?:have|got) a "
                              r"(?:boyfriend|girlfriend)\b|\bi am dating\b"),
        ("pets", "none", r"\bi (?:do not|did not|never) (?:have|had|own|owned) (?:any )?pets?\b"
                         r"|\bno pets\b|\bi have (?:never )?(?:had )?no pets\b"
                         r"|\bi (?:do not|never) (?:have|had) (?:any )?animals\b"),
        ("pets", "some", r"\bmy (?:pet|pets|dog|dogs|cat|cats|fish|horse|horses|cow|lab|puppy|"
                         r"kitten|bird|parrot|hamster|turtle|snake|rabbit|bunny|pony)\b"
                         r"|\b(?:i|and|also|but) (?:have|own|adopted|rescued|got)(?: just)? "
                         r"(?:a|an|one|two|three|"
                         r"four|five|\d+|some|several|many|lots of)? ?(?:[a-z]+ )?(?:pets?|dogs?|"
                         r"cats?|fish|horses?|cows?|lab|puppy|puppies|kittens?|birds?|parrots?|"
                         r"hamsters?|turtles?|snakes?|rabbits?|bunny|bunnies|pony|ponies|"
                         r"retrievers?|shepherds?|goldfish)\b|\bpets name\b"),
        ("kids", "none", r"\bi (?:do not|did not|never) (?:have|had) (?:any )?(?:kids|children"
                         r"|a child|a kid)\b|\bno (?:kids|children)\b|\bi am not a (?:parent|mom|"
                         r"dad|mother|father)\b|\bi am childless\b"

                         r"|\b(?:unsure|do not know) (?:if|whether) i (?:want|will (?:ever )?have"
                         r"|would like|will want) (?:any )?(?:kids|children)\b"),
        ("kids", "some", r"\bmy (?:kids|children|son|sons|daughter|daughters|child|"
                         r"grandchildren|grandkids)\b|\b(?:i|and|also) have (?:a|one|two|"
                         r"three|four|"
                         r"five|six|seven|eight|\d+) ?(?:[a-z]+ )?(?:kids|children|sons?|"
                         r"daughters?|child)\b|\bi am a (?:mom|mother|dad|father|parent)\b"
                         r"|\bstay-at-home (?:mom|dad|mother|father)\b|\bi am (?:a )?(?:mom|dad|"
                         r"mother|father|parent) (?:of|to)\b|\bi have (?:a )?children\b"),
        ("firstborn", "expecting", r"\b(?:i am|we are) (?:\w+ )?(?:pregnant with|expecting) "
                                   r"(?:my|our) first (?:child|baby|kid)\b"),
        ("firstborn", "several", r"\b(?:i|we) have (?:two|three|four|five|six|seven|eight|"
                                 r"[2-9]) ?(?:[a-z]+ )?(?:kids|children|sons|daughters)\b"
                                 r"|\bmy (?:kids|children|sons|daughters|oldest|eldest)\b"),
        ("siblings", "none", r"\bi am an only child\b|\bi (?:do not|never) (?:have|had) (?:any )?"
                             r"(?:siblings|brothers or sisters)\b|\bno siblings\b"),
        ("siblings", "some", r"\bi have (?:a|an|one|two|three|four|five|\d+) (?:older |younger |"
                             r"big |little |twin )?(?:brothers?|sisters?|siblings)\b"
                             r"|\bmy (?:older |younger |big |little |twin )?(?:brother|sister|"
                             r"brothers|sisters|siblings)\b|\bi have siblings\b"),
        ("diet", "veg", r"\bi am (?:a |an )?(?:strict |lifelong )?(?:vegan|vegetarian)\b"
                        r"|\bi (?:do not|never|can not|will not) eat (?:any )?(?:meat|animal"
                        r" products|animals)\b|\bi (?:gave up|quit|stopped eating) meat\b"),
        ("diet", "meat", r"\bi am (?:an )?omnivore\b|\bi (?:love|like|enjoy|eat|adore|crave) "
                         r"(?:eating |to eat )?(?:a good |some |my )?(?:steak|bacon|burgers?|"
                         r"cheeseburgers?|hamburgers?|beef|pork|ribs|brisket|meat|bbq|barbecue|"
                         r"hot dogs|sausages?|chicken wings)\b|\b(?:steak|bacon|burgers?|"
                         r"cheeseburgers?|hamburgers?|beef|pork|ribs|brisket|meat|bbq) (?:is|are)"
                         r" my favou?rite\b|\bmy favou?rite (?:food|meal|dish|thing to eat) (?:is|"
                         r"are) (?:a )?(?:steak|bacon|burgers?|cheeseburgers?|hamburgers?|beef|"
                         r"pork|ribs|brisket|meat|bbq|fried chicken)\b"),
        ("religion", "atheist", r"\bi (?:do not|no longer|never) believe in (?:god|religion)\b"
                                r"|\bi am (?:an )?(?:atheist|agnostic)\b|\bi am not religious\b"),
        ("religion", "believer", r"\bi am (?:a |an )?(?:devout |practicing |born again )?"
                                 r"(?:christian|catholic|baptist|methodist|mormon|muslim|"
                                 r"religious|believer|pastor|priest|nun|minister)\b"
                                 r"|\bi (?:go|went) to church\b|\bi believe in god\b"
                                 r"|\bi pray\b|\bmy faith\b|\bmy relationship with god\b"),
        # no job now; it clashes with holding one (lexical._employed), not with "my job as"
        ("stage", "jobless", r"\bi (?:just |recently )?(?:quit|lost|left) my job\b"
                             r"(?! (?:as|at|in)\b)"
                             r"|\bi am (?:currently )?(?:unemployed|out of work|between jobs"
                             r"|jobless)\b|\bi (?:do not|no longer) (?:have a job|work)\b"),
        ("faith", "christian", r"\bi am (?:a |an )?(?:devout |practicing |born again )?"
                               r"(?:christian|catholic|baptist|methodist|lutheran|protestant|"
                               r"evangelical)\b|\bi (?:go|went) to church\b"),
        ("faith", "buddhist", r"\bi am (?:a |an )?(?:devout |practicing )?buddhist\b"),
        ("faith", "muslim", r"\bi am (?:a |an )?(?:devout |practicing )?muslim\b"),
        ("faith", "jewish", r"\bi am (?:a |an )?(?:devout |practicing )?(?:jewish|jew)\b"),
        ("faith", "hindu", r"\bi am (?:a |an )?(?:devout |practicing )?hindu\b"),
        ("alcohol", "none", r"\bi (?:do not|never|can not) drink(?: alcohol| any alcohol| booze)?"
                            r"(?! (?:coffee|tea|soda|milk|water|juice|pop|energy))\b"
                            r"|\bi am (?:sober|a teetotaler)\b|\bi (?:quit|stopped|gave up) "
                            r"drinking\b|\bi do not (?:drink|touch) alcohol\b"),
        ("alcohol", "some", r"\bi (?:love|like|enjoy|drink|had|have) (?:to )?(?:drink |drinking )?"
                            r"(?:a )?(?:glass of |bottle of |some |a little )?(?:wine|beer|beers|"
                            r"vodka|whiskey|whisky|cocktails?|tequila|margaritas?|champagne|"
                            r"alcohol|booze|bourbon|scotch)\b|\bmy favou?rite drink is (?:wine|"
                            r"beer|vodka|whiskey|whisky|a cocktail|tequila)\b"),
        ("stage", "child", r"\bi am in (?:the )?(?:first|second|third|fourth|fifth|sixth|seventh|"
                           r"eighth|1st|2nd|3rd|4th|5th|6th|7th|8th) grade\b|\bi am in "
                           r"(?:elementary|middle|primary|grade) school\b|\bi am in "
                           r"kindergarten\b|\bi am (?:a )?(?:\d+ year old )?(?:little )?(?:kid|"
                           r"child)\b|\bi am an? (?:first|second|third|fourth|fifth|sixth|seventh"
                           r"|eighth|1st|2nd|3rd|4th|5th|6th|7th|8th) grader\b"),
        ("stage", "high_school", rf"\bi am in (?:the )?(?:{HIGH_GRADES}) grade\b|\bi am an? "
                                 rf"(?:{HIGH_GRADES}) grader\b"
                                 r"|\bi am (?:still |currently |a senior |a junior |now )?in high "
                                 r"school\b|\bi am a high school (?:student|senior|junior|"
                                 r"freshman|sophomore)\b|\bi go to high school\b"
                                 r"|\bi (?:will|am going to) graduate (?:from )?high school\b"),
        ("stage", "college", r"\bi am (?:currently |still |now )?(?:in|at|attending) (?:college|"
                             r"university|grad school|graduate school|law school|med school|"
                             r"medical school)\b|\bi am (?:a |an )?(?:college|university|grad|"
                             r"graduate|phd|undergrad|undergraduate) student\b|\bi am "
                             r"(?:a |an )?[a-z]+ major\b|\bi go to (?:college|university)\b"),
        ("stage", "retired", r"\bi am (?:now |happily |finally |also )?retired\b|\bi (?:just |"
                             r"recently )?retired\b|\bi have been retired\b|\bin retirement\b"),
        ("stage", "home", rf"\bi am (?:a )?stay(?:-| )at(?:-| )home (?:{STAY_AT_HOME})\b"
                          r"|\bi am a (?:homemaker|housewife|househusband)\b"),
        ("stage", "working", r"\bi (?!.*\bpart[- ]?time\b)(?:currently |also |still )?work "
                             r"(?:full-time |fulltime |full "
                             r"time )?(?:as|at|for|in) (?!home\b|school\b)|\bi am employed\b"
                             r"|\bmy job (?:is|as)\b|\bi am a (?:nurse|teacher|lawyer|doctor|"
                             r"engineer|accountant|mechanic|electrician|plumber|carpenter|"
                             r"firefighter|dentist|pilot|chef|librarian|farmer|manager|"
                             r"salesman|cashier|waiter|waitress|bartender|professor|"
                             r"police officer|cop|programmer|developer|designer|secretary|"
                             r"receptionist|janitor|truck driver|mail carrier|"
                             r"software engineer|architect|scientist|surgeon|veterinarian|"
                             r"pharmacist|therapist|counselor|social worker|paramedic|"
                             r"soldier|marine|banker|writer|journalist|photographer)\b"
                             r"|\bi work fulltime\b|\bi work full-time\b"),
    )
)
SLOT_CLASH: dict[str, frozenset[frozenset[str]]] = {
    "gender": frozenset({frozenset({"male", "female"})}),
    "marital": frozenset({frozenset({"single", "married"}), frozenset({"single", "engaged"}),
                          frozenset({"never_rel", "married"}),
                          frozenset({"never_rel", "engaged"}), frozenset({"married", "engaged"}),
                          frozenset({"married", "dating"}), frozenset({"never_rel", "dating"})}),
    "pets": frozenset({frozenset({"none", "some"})}),
    "kids": frozenset({frozenset({"none", "some"})}),
    "siblings": frozenset({frozenset({"none", "some"})}),
    "diet": frozenset({frozenset({"veg", "meat"})}),
    "religion": frozenset({frozenset({"atheist", "believer"})}),
    "faith": frozenset(frozenset(p) for p in (  # one religion each
        ("christian", "buddhist"), ("christian", "muslim"), ("christian", "jewish"),
        ("christian", "hindu"), ("buddhist", "muslim"), ("buddhist", "jewish"),
        ("buddhist", "hindu"), ("muslim", "jewish"), ("muslim", "hindu"), ("jewish", "hindu"))),
    # expecting a first child: no children yet, so not several ("my child" may be the baby)
    "firstborn": frozenset({frozenset({"expecting", "several"})}),
    "alcohol": frozenset({frozenset({"none", "some"})}),
    "stage": frozenset({frozenset(p) for p in (
        ("child", "high_school"), ("child", "college"), ("child", "retired"),
        ("child", "home"), ("child", "working"), ("high_school", "college"),
        ("high_school", "retired"), ("high_school", "working"), ("college", "retired"),
        ("retired", "working"), ("home", "working"), ("high_school", "home"),
        ("college", "home"))}),
}


KIN = (r"mother|mom|mum|father|dad|parents?|sisters?|brothers?|wife|husband|sons?|"
        r"daughters?|kids?|children|friends?|best friend|family|grand(?:ma|pa|mother|father|"
        r"parents)|aunt|uncle|cousins?|boyfriend|girlfriend|neighbou?rs?|boss|dog|cat|pets?")
OTHER = re.compile(rf"^(?:(?:my|our) (?:[a-z]+ )?(?P<who>{KIN})\b(?! and i\b)|(?:he|she|they)\b)")
TASTES = frozenset({"favorite_color", "favorite_sport", "favorite_season", "favorite_book_genre",
                     "favorite_movie_genre", "favorite_subject"})
DWELLING = re.compile(r"\b(?:house|home|apartment|condo|trailer|dorm|building|neighborhood|"
                       r"area|street|room|basement|cabin|mansion|place|storey|story|cloud)\b")

# ---------------------------------------------------------------------------------------------
# Partner moves from text (real logs)
# ---------------------------------------------------------------------------------------------

# a claim that the other speaker is a machine: the noun must end the phrase ("are you a bot?",
# "is an AI writing your answers?"), so "are you a computer programmer?" is not meta
AI_NOUN = (r"(?:ai|a\.i\.|bot|robot|chatbot|chat bot|machine|computer|language model"
            r"|artificial intelligence|virtual assistant|ai assistant)s?"
            r"(?=(?:\s+(?:right now|now|here|really|actually|honestly|at all|or something))?"
            r"\s*(?:[?.!,;]|$|or\b|and\b|answering\b|writing\b|typing\b|pretending\b"
            r"|program\b|assistants?\b|model\b|system\b))")
META = re.compile(
    rf"\b(?:are you|am i (?:talking|chatting|speaking) (?:to|with)|is this|is that|is it"
    rf"|you (?:sound|seem|type|talk|write)(?: a bit| kind of| just| so| really)? like"
    rf"|feels? like (?:talking|chatting) (?:to|with)|talking to|is an?)\b[^.!?]{{0,60}}?"
    rf"\b{AI_NOUN}"
    r"|\bare you (?:even |actually |really )?(?:a |an )?(?:real (?:person|human|client|student)"
    r"|real|human(?: being)?|actual person|person)(?=\s*(?:[?.!,]|$|or\b))"
    r"|\bsounds? (?:so |a bit |kind of |very |really )?(?:scripted|robotic|automated)\b"
    r"|\bautomated (?:\w+ )?(?:bot|system|replies|reply|responses?|answers?)\b"
)
EMOTIONAL = re.compile(
    r"\bi (?:am|feel|felt|was|have been|have been feeling|keep feeling)\s+"
    r"(?:(?:so|really|very|pretty|a bit|a little|kind of|kinda|just|quite|super|extremely|too"
    r"|feeling|still|always|completely|totally)\s+)*"
    r"(?:sad|lonely|alone|depressed|stressed(?: out)?|anxious|scared(?! of)|afraid(?! of)"
    r"|frightened|worried|overwhelmed|upset|heartbroken|hopeless|miserable|exhausted"
    r"|burn(?:ed|t) out|hurt|devastated|crushed|lost|stupid|worthless|frustrated|grieving"
    r"|broken|numb|unhappy)\b"
    r"|\b(?:lonely|loneliness|depressed|depression|anxiety|overwhelmed|heartbroken|hopeless"
    r"|miserable|grief|grieving|funeral|miscarriage|divorce|divorced|broke up|breakup"
    r"|break up|dumped|laid off|got fired|passed away|died|crushed me|breaks my heart"
    r"|cry|crying|cried|tears|feeling down|feel down|worried|stressed)\b"
    r"|\b(?:lost|losing) (?:my (?:job|mom|dad|mother|father|husband|wife|partner|son|daughter"
    r"|brother|sister|friend|best friend|grandma|grandpa|grandmother|grandfather|dog|cat|pet"
    r"|home|house)|someone)\b"
    r"|\bmiss (?:him|her|them|my)\b|\bnobody (?:really )?(?:listens|cares|understands)\b"
    r"|\bcan (?:barely|not) (?:sleep|cope|go on)\b|\bcarrying a lot\b"
    r"|\b(?:going through|having|had|have had) (?:such )?an? (?:really )?(?:hard|tough|rough"
    r"|difficult) time\b|\b(?:hard|tough|rough|bad|terrible) (?:day|week|month|year)\b"
    r"|\bi (?:worry|have been worrying|am worrying)\b"
    r"|\bfeel (?:exactly )?(?:like this|this way)\b"
)
ABOUT_YOU = re.compile(r"\b(?:you|your|yours|yourself)\b|^(?:any|got any) ")
ECHO = re.compile(
    r"^(?:and |so |but |well |oh )?(?:what|how) about (?:you|yourself|yours)\b|^and (?:you|yours)\b"
    r"|^(?:you|yourself|yours)\W*$|^what is yours\b|^(?:do|are|have|did|can|were) you\W*$"
)
QUESTION_LIKE = re.compile(r"^(?:tell me (?:more )?about your|i (?:was )?wonder(?:ing)? (?:if|"
                            r"what|where|how|whether))\b")
PREFIX_CUT = re.compile(r"^[^,:]*[,:]\s+(?:(?:and|but|so|oh|well|anyway)\s+)?")
# Looser question cues, tried in order (more specific relations first) on the expanded,
# lower-cased question sentence about "you".
QUESTION_CUES: tuple[tuple[str, str], ...] = (
    ("career_goal", r"\bwant to (?:be|do|become)\b[^?]*\b(?:someday|grow up|future|after "
                    r"(?:school|college|graduation|you graduate))|\bdream (?:job|career)\b"
                    r"|\bcareer goals?\b|\bdo with your life\b|\bwhen you grow up\b"
                    r"|\bfuture career\b"),
    ("dislike_food", r"\b(?:foods?|anything|something|dish|dishes)\b[^?]*\b(?:you )?"
                     r"(?:do not like|dislike|hate|can not stand|will not eat|would not eat"
                     r"|do not eat|refuse to eat)\b|\bfoods? (?:do you|you) (?:hate|dislike)\b"
                     r"|\bleast favou?rite food\b"),
    ("diet", r"\bdiet(?:ary|s)?\b|\bvegetarian\b|\bvegan\b|\beat meat\b"),
    ("has_profession", r"\bdo for (?:a )?(?:living|work|money)\b|\bmake a living\b"
                       r"|\byour (?:job|work|occupation|profession|line of work|career|day job)\b"
                       r"|\bwhat (?:kind of |sort of |type of )?(?:work|job)\b"
                       r"|\bwhere do you work\b|\bwhat do you do\s*$|\bdo you (?:work|have a job)\b"
                       r"|\bare you (?:working|employed)\b|\bwork as\b|\bfor a living\b"),
    ("has_age", r"\bhow old\b|\byour age\b|\bwhat age\b"),
    ("have_sibling", r"\bsiblings?\b|\bbrothers?\b|\bsisters?\b|\bonly child\b"),
    ("have_children", r"\bkids\b|\bchildren\b|\bchild\b|\bare you a (?:parent|mom|dad|mother"
                      r"|father)\b|\bsons?\b|\bdaughters?\b"),
    ("have_pet", r"\bpets?\b|\banimals?\b|\banimal person\b|\bdogs?\b|\bcats?\b|\bpupp(?:y|ies)"
                 r"\b|\bkittens?\b"),
    ("born_in", r"\bwhere (?:are|were) you (?:originally )?(?:born|from)\b|\boriginally from\b"
                r"|\bwhere did you grow up\b|\bhometown\b|\bborn\b"),
    ("live_in", r"\bwhere do you (?:live|stay)\b|\bwhere are you (?:based|located|living)\b"
                r"|\bwhat (?:city|town|state|country|part of \w+)\b|\blive in\b|\bcall home\b"
                r"|\bwhere is home\b|\bwhere you live\b"),
    ("marital_status", r"\bmarried\b|\bsingle\b|\bseeing anyone\b|\brelationship\b"
                       r"|\bboyfriend\b|\bgirlfriend\b|\bhusband\b|\bwife\b|\bdating\b"
                       r"|\bspecial someone\b|\bsignificant other\b|\bspouse\b"),
    ("hair_color", r"\bhair\b"),
    ("eye_color", r"\beyes?\b(?! on)"),
    ("favorite_color", r"\bcolou?rs?\b"),
    ("favorite_subject", r"\bsubjects?\b|\bfavou?rite class\b|\bclass in school\b"),
    ("attend_school", r"\bschool\b|\bstudent\b|\bcollege\b|\buniversity\b|\bstudying\b"
                      r"|\bmajor(?:ing)?\b|\bwhat grade\b"),
    ("play_instrument", r"\binstruments?\b|\bmusical\b|\bplay (?:the |an? |any )?(?:guitar|piano"
                        r"|violin|drums|cello|flute|saxophone|trumpet|ukulele|bass|harp|banjo)\b"),
    ("like_music", r"\bmusic\b|\blisten(?:ing)? to\b|\bbands?\b|\bsongs?\b|\bsingers?\b"
                   r"|\bmusicians?\b|\bconcerts?\b"),
    ("like_drink", r"\bdrinks?\b|\bdrinking\b|\bbeverages?\b|\bcoffee\b|\btea\b"),
    ("like_food", r"\bfoods?\b|\bto eat\b|\beat(?:ing)?\b|\bfavou?rite (?:meal|dish|snack"
                  r"|dessert|cuisine|restaurant)\b|\bcuisine\b"),
    ("favorite_sport", r"\bsports?\b|\bteams?\b|\bathletes?\b"),
    ("favorite_season", r"\bseasons?\b|\btime of (?:the )?year\b"),
    ("favorite_book_genre", r"\bbooks?\b|\bread\b|\breading\b|\bnovels?\b|\bauthors?\b"),
    ("favorite_movie_genre", r"\bmovies?\b|\bfilms?\b|\bflicks\b|\bcinema\b"),
    ("own_vehicle", r"\bdrive\b|\bcars?\b|\bvehicles?\b|\bget around\b|\bwheels\b|\btruck\b"
                    r"|\bmotorcycle\b"),
    ("height", r"\bhow tall\b|\bare you (?:tall|short)\b|\bheight\b"),
    ("dominant_hand", r"\bhanded\b|\bwhich hand\b|\bdominant hand\b"),
    ("speak_language", r"\blanguages?\b|\bspeak\b|\bbilingual\b|\bfluent\b"),
    ("fear", r"\bafraid\b|\bscared\b|\bfears?\b|\bscares? you\b|\bphobias?\b|\bfrighten"),
    ("sleep_schedule", r"\bmorning person\b|\bnight (?:owl|person)\b|\bearly bird\b"
                       r"|\bget up early\b|\bwake up\b|\bstay up late\b|\bsleep\b"
                       r"|\bgo to bed\b"),
    ("health_condition", r"\bhealth\b|\bhealthy\b|\bmedical\b|\billness\b|\bsick\b"
                         r"|\ballergi"),
    ("stress_source", r"\bstress|\bworr(?:y|ied|ying)\b|\bkeeps you up at night\b"
                      r"|\bweighing on you\b|\bbothering you\b|\bon your mind\b"),
    ("personality", r"\boutgoing\b|\bpersonality\b|\bpeople person\b|\bintrovert|\bextrovert"
                    r"|\bshy\b|\baround (?:lots of |a lot of )?people\b"),
    ("has_hobby", r"\bfor fun\b|\bhobb(?:y|ies)\b|\bfree time\b|\bspare time\b"
                  r"|\bspend your (?:weekends|time|days)\b|\b(?:like|love) to do\b"
                  r"|\benjoy doing\b|\bfavou?rite (?:things? to do|activity|activities|pastime)"
                  r"\b|\binterests?\b|\bpassions?\b|\bare you into\b|\bdo in your\b"),
)
PERSON_SWAP = {"you are": "i am", "i am": "you are", "you": "i", "your": "my", "yours": "mine",
                "yourself": "myself", "i": "you", "my": "your", "mine": "yours",
                "myself": "yourself", "me": "you"}
SWAP_RE = re.compile(r"\b(?:you are|i am|yourself|yours|your|you|myself|mine|my|me|i)\b")
INVERTED = re.compile(r"\b(are|were|have|do|does|did|can|could|will|would)( not)? i\b")
UNINVERT = {"are": "am", "were": "was", "do": "", "does": "", "did": ""}



# ---------------------------------------------------------------------------------------------
# Paraphrase: answers without the world's wording
# ---------------------------------------------------------------------------------------------

SUBJECT_DROP = re.compile(
    r"^(?:(?:just|never|always|really|also|still|recently|finally|only|mostly|definitely"
    r"|totally|absolutely|actually|usually|honestly|seriously|even)\s+)*"
    r"(?:love|loved|like|liked|enjoy|enjoyed|adore|hate|hated|have|had|got|turned|been|play"
    r"|played|live|lived|work|worked|own|owned|drive|drove|speak|grew up|went|moved|do not"
    r"|did not|can not|drink|eat|listen|prefer|teach|taught|study|spent|spend|grew)\b"
)
"""A clause that drops its "I" ("Love a good steak.", "Never had kids.", "Just turned 21!"):
read as if it began with "i"."""

HOUSEHOLD = frozenset({"live_in", "have_pet", "own_vehicle"})
"""Relations a "we" clause states about the speaker too ("We live in Denver", "We have a dog");
not children or marriage ("We don't have kids" may be about a couple the speaker is not in)."""
WE_CLAUSE = re.compile(r"^(?:we|my (?:husband|wife|partner|family) and i)\b")

PHRASE_FACTS: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (relation, value, re.compile(pattern)) for relation, value, pattern in (
        ("has_profession", "teacher", SUBJ + r"(?:teach|teaches)\b(?! (?:myself|me)\b)"),
        ("has_profession", "farmer", SUBJ + r"(?:farm\b(?! animals)|(?:run|own|work on|manage|"
                                           r"runs|owns|works on) (?:a|the|my|our) (?:family |"
                                           r"small |dairy |big |cattle )?farm\b)"),
        ("has_profession", "chef", SUBJ + r"(?:cook (?:for a living|professionally)|(?:run|work "
                                         r"in) (?:a|the) (?:restaurant |hotel )?kitchen)\b"),
        ("has_profession", "pilot", SUBJ + r"fly (?:planes|jets|airplanes|for (?:an?|the) "
                                          r"airline)\b"),
        ("has_profession", "mechanic", SUBJ + r"(?:fix|repair) (?:cars|engines|trucks)\b"),
        ("has_profession", "nurse", SUBJ + r"work (?:in|as a) nursing\b"),
        ("has_profession", "firefighter", SUBJ + r"fight fires\b"),
        ("has_profession", "lawyer", SUBJ + r"practice law\b"),
        ("has_profession", "librarian", SUBJ + r"work (?:at|in) (?:a|the) (?:public |local |"
                                              r"school )?library\b"),
        ("sleep_schedule", "night owl", SUBJ + r"(?:stay|stayed|am|was) up (?:late|till|until|"
                                              r"all night|past midnight)\b"),
        ("sleep_schedule", "early bird", SUBJ + r"(?:get up|wake up|am up|rise|wake) (?:early\b|"
                                               r"at dawn\b|before dawn\b|at (?:4|5|6|four|five"
                                               r"|six)(?:\s*am\b|:\d\d|\b))"),
        ("marital_status", "single", SUBJ + r"(?:never (?:been |gotten |got )?married|never had a "
                                           r"(?:wife|husband|spouse))\b"),
        ("marital_status", "widowed", r"\bmy (?:late )?(?:wife|husband|spouse) (?:passed away|"
                                      r"died|passed)\b|\bi lost my (?:wife|husband|spouse)\b"),
    )
)
"""What a first-person clause says in words that name no value: "I teach third grade" (a
teacher), "I run a farm" (a farmer), "I stay up till 3am" (a night owl). Negation in the
subject's auxiliaries denies it; aspiration and the past skip it, as for every free-text fact."""

HOBBY_VERBS = re.compile(
    r"(?:^|\b)i\s+(?P<aux>(?:(?:do|also|still|really|always|usually|often|sometimes|love to|"
    r"like to|never|not|can not|go)\s+)*)(?P<v>hike|paint|knit|garden|fish|surf|bake|dance"
    r"|do yoga|rock climb)\b"
    r"|(?:^|\b)i\s+(?P<aux2>(?:(?:have|also|still|really|not|never)\s+)*)been\s+"
    r"(?P<v2>hiking|painting|knitting|gardening|fishing|surfing|baking|dancing|doing yoga"
    r"|rock climbing)\b(?! (?:the|my|our|a|an|his|her) )"
)
"""An activity said as a verb ("I hike every weekend", "I paint"): the hobby of that name."""
HOBBY_OF_VERB = {"doing yoga": "yoga", "hiking": "hiking", "painting": "painting",
                 "knitting": "knitting", "gardening": "gardening", "fishing": "fishing",
                 "surfing": "surfing", "baking": "baking", "dancing": "dancing",
                 "rock climbing": "rock climbing", "hike": "hiking", "paint": "painting",
                 "knit": "knitting", "garden": "gardening",
                 "fish": "fishing", "surf": "surfing", "bake": "baking", "dance": "dancing",
                 "do yoga": "yoga", "rock climb": "rock climbing"}

# Short answers to a question the move names (TextReader.parse with a move)
CONFIRM_LEAD = re.compile(
    r"^(?:(?:oh|ah|ha|haha|well|um|mm)\W+)*(?:yes|yeah|yep|yup|yea|sure|right|correct|exactly"
    r"|indeed|of course|definitely|absolutely|that is right|that is correct|you got it|you bet"
    r"|uh-huh|true|that is me|guilty|bingo|i (?:do|am|have|did)(?=\s*(?:[,.!;]|$)))"
    r"(?=\s*(?:[,.!;]|$)|\s+(?!not\b|no\b)\w)"
)
DENY_LEAD = re.compile(
    r"^(?:(?:oh|ah|ha|haha|lol|well|um|what|hmm|actually)\W+)*(?:no|nope|nah|not really"
    r"|not at all|not quite|of course not|definitely not|never|none|negative|wrong"
    r"|not anymore|not yet|i (?:do|am|have|did) not(?=\s*(?:[,.!;]|$)))(?=[\s,.!;?]|$)"
)
"""A reply that opens with yes / no: to "You're a teacher, right?" or "Do you have kids?"."""
NEG_IDIOMS = re.compile(
    r"\b(?:no (?:question|contest|doubt|kidding|joke|lie|surprise|way around it)|not gonna lie"
    r"|not to brag|no offense|not bad|not sure|not only|no matter|no worries|hands down"
    r"|right (?:now|away|here|there|then|after|before)|all right|that is right|you are right"
    r"|married to (?:my|the|his|her) (?:job|work|career|art|craft|kitchen))\b"
)
"""Negative words that deny nothing ("Biology, no contest.", "Not gonna lie, jazz.")."""
OTHER_PERSON = re.compile(
    rf"\b(?:my|our|his|her|their|your) (?:[a-z]+ )?(?:{KIN}|friends?|coworkers?|roommates?"
    r"|boss|neighbou?rs?|teachers?)\b|\b(?:he|she|they|you)\b"
)
"""A clause about someone else: a value in it is not the speaker's answer."""
AGE_FRAGMENT = re.compile(
    rf"^(?:(?:about|almost|nearly|just|only|turned|turning|now)\s+)*(?P<n>{NUM_RE})(?![\w-])"
    r"(?:[- ]?(?:years?|yrs?)(?:[- ](?:old|young))?)?"
    r"(?!\s*(?:minutes?|hours?|days?|weeks?|months?|miles?|times?|percent|kids?|children|cats?"
    r"|dogs?|pets?|dollars|bucks|people|friends|sisters?|brothers?|siblings?|years ago)\b)"
)
KIDS_FRAGMENT = re.compile(
    rf"^(?:(?:just|only)\s+)?(?:(?P<n>one|{NUM_RE})\b(?!\s+of\b)|(?P<a>an?)\s+(?=(?:\w+\s+)?(?:kid|child"
    r"|son|daughter|boy|girl|little one)\b))"
    r"(?:\s+(?:(?:little|young|grown|grown-up|adult|teenage|wonderful|beautiful)\s+)?(?:kids?"
    r"|children|child|sons?|daughters?|boys?|girls?|little ones?))?"
    r"(?!\s*(?:years?|minutes?|hours?|days?|weeks?|months?|pets?|dogs?|cats?|sisters?"
    r"|brothers?|siblings?)\b)"
)
SIBLINGS_FRAGMENT = re.compile(
    rf"^(?:(?:just|only)\s+)?(?P<n1>a|an|{NUM_RE})\s+(?:(?:older|younger|big|little|twin)\s+)?"
    + SIB.format(i=1)
    + rf"(?:\s+and\s+(?P<n2>a|an|{NUM_RE})\s+(?:(?:older|younger|big|little|twin)\s+)?"
    + SIB.format(i=2)
    + r")?(?!\s+(?:in law|in-law))"
)
"""Counts that answer a question on their own: "Forty-two.", "Two, a boy and a girl.", "Two
older sisters." (TextReader.parse with a move on has_age, have_children, have_sibling)."""
DISLIKE = re.compile(r"\b(?:hate|hated|dislike|can not stand|detest|loathe|despise|never liked"
                     r"|not a fan of|not into|not big on)\b")
"""Before a value of a taste ("I can't stand jazz"): the taste denied."""
ANSWER_SURFACES: dict[str, dict[str, str]] = {
    "has_profession": {"nursing": "nurse", "teaching": "teacher", "farming": "farmer",
                       "accounting": "accountant", "dentistry": "dentist", "plumbing": "plumber",
                       "law": "lawyer", "firefighting": "firefighter", "lifeguarding": "lifeguard",
                       "flying": "pilot", "programming": "software engineer",
                       "software": "software engineer", "coding": "software engineer"},
}
"""Words that name a value only as an answer to a question on the relation ("What do you do?"
- "Nursing!"); elsewhere they mean other things ("I'm nursing a cold")."""
ANSWER_NONE: dict[str, re.Pattern[str]] = {
    "health_condition": re.compile(r"\bno (?:health )?(?:problems|issues|complaints)\b"
                                   r"|\bhealthy as (?:a horse|an ox|can be)\b"
                                   r"|\b(?:fit|right) as a fiddle\b"),
    "have_pet": re.compile(r"\bnot an animal person\b|\bno animals\b"),
    "have_children": re.compile(r"\bno (?:kids|children)\b|\bchild-?free\b"),
    "fear": re.compile(r"\bnothing (?:really )?(?:scares|frightens) me\b"
                       r"|\bnot scared of anything\b"),
}
"""``none`` said as an answer only ("How's your health?" - "No problems at all."), where the
same words elsewhere are about other things ("I have no problems with that")."""
QUESTION_START = re.compile(r"^(?:what|who|where|when|why|how|which|do|does|did|are|is|am|was"
                            r"|were|have|has|can|could|would|will|should|and you|you)\b")
"""The opening of a question clause (as opposed to an answer before a tag question)."""

# ---------------------------------------------------------------------------------------------
# Occupations (the rule judge's job slot)
# ---------------------------------------------------------------------------------------------

OCCUPATION_GROUPS: tuple[tuple[str, ...], ...] = (
    ("teacher", "professor", "tutor", "instructor", "lecturer", "school teacher"),
    ("nurse",), ("doctor", "surgeon", "physician", "pediatrician"), ("lawyer", "attorney"),
    ("engineer",), ("software engineer", "programmer", "developer", "coder",
                    "software developer", "web developer"),
    ("plumber",), ("electrician",), ("farmer", "rancher"), ("chef", "cook"),
    ("waiter", "waitress", "server"), ("bartender",), ("cashier",), ("teller", "bank teller"),
    ("accountant", "bookkeeper"), ("banker",), ("mechanic",), ("carpenter",), ("pilot",),
    ("firefighter", "fireman"), ("police officer", "cop", "policeman", "policewoman"),
    ("soldier",), ("dentist",), ("pharmacist",), ("veterinarian", "vet"), ("librarian",),
    ("scientist", "researcher", "chemist", "biologist", "physicist"), ("designer",),
    ("architect",), ("artist", "painter", "illustrator"),
    ("musician", "singer", "guitarist", "pianist", "drummer", "rapper"),
    ("actor", "actress"), ("writer", "author", "novelist", "poet"), ("journalist", "reporter"),
    ("photographer",), ("dancer", "ballerina"), ("wrestler", "professional wrestler"),
    ("boxer",), ("olympian", "olympic athlete", "gold medalist olympian"),
    ("tennis player",), ("football player",), ("basketball player",),
    ("soccer player",), ("baseball player",), ("hockey player",), ("golfer",), ("gymnast",),
    ("salesman", "saleswoman", "salesperson", "car salesman", "sales rep"),
    ("secretary", "receptionist"), ("janitor", "custodian"),
    ("truck driver", "trucker"), ("bus driver",), ("taxi driver", "cab driver", "uber driver"),
    ("mail carrier", "mailman", "postman"), ("construction worker", "builder"), ("welder",),
    ("therapist", "counselor", "psychologist"), ("social worker",), ("paramedic", "emt"),
    ("nanny", "babysitter"), ("housekeeper", "maid"),
    ("barber", "hairdresser", "hair stylist", "stylist"), ("tailor", "seamstress"),
    ("butcher",), ("baker",), ("fisherman",), ("miner", "coal miner"), ("lumberjack",),
    ("stunt double", "stuntman", "stunt woman"), ("model",), ("lifeguard",), ("zookeeper",),
    ("realtor", "real estate agent"), ("insurance agent",), ("stockbroker", "broker"),
    ("clerk",), ("technician",), ("judge",), ("politician", "senator", "mayor"),
    ("priest", "pastor", "minister", "nun", "rabbi", "preacher"), ("comedian",),
    ("magician",), ("clown",), ("astronaut",), ("sailor",), ("security guard", "bouncer"),
    ("courier", "delivery driver"), ("landscaper", "gardener"), ("florist",),
    ("optometrist",), ("chiropractor",), ("midwife",), ("caregiver",), ("manager",),
    ("consultant",), ("analyst",), ("entrepreneur", "business owner"), ("ceo",),
    ("youtuber", "streamer", "influencer", "blogger"), ("coach", "swim coach"),
    ("personal trainer",), ("dealer", "car dealer", "watch dealer"), ("dog walker",),
)
"""Occupations a person holds one of (words of one group name the same job), by hand."""
BASE_OCCUPATION: dict[str, str] = {w: g[0] for g in OCCUPATION_GROUPS for w in g}
"""Hand-listed occupation word -> its group's first word."""



def job_group(phrase: str) -> str:
    """The occupation group of a job phrase: its own hand-listed group, else the group of its
    last word ("gym teacher" -> "teacher": a head names the same job), else the phrase."""
    if phrase in BASE_OCCUPATION:
        return BASE_OCCUPATION[phrase]
    return BASE_OCCUPATION.get(phrase.split()[-1], phrase)


OCCUPATION: dict[str, str] = {**{p: job_group(p) for p in PERSONA_VALUES["jobs"]},
                              **BASE_OCCUPATION}
"""Occupation word or phrase (hand-listed or mined) -> its group."""
OCCUPATION_GROUP_NAMES = frozenset(OCCUPATION.values())
"""The groups of the known occupations (a job read from "I work as a X" alone may be none)."""
_OCC_RE = trie_regex(set(OCCUPATION))
AGENT_NOUN = re.compile(r"(?:er|or|ist|ian|ant|ent|man|woman|ess|eer)$")
"""The ending of an agent noun (bench/mine_persona_values.py keeps jobs that end so)."""
NOT_JOBS = frozenset({"major", "minor", "student", "grader", "biker", "lover", "fan",
                      "survivor", "enthusiast", "beginner", "member", "parent", "volunteer",
                      "intern", "freelancer", "apprentice", "trainee", "fanatic", "team",
                      "part", "whole", "unit", "family", "group", "pair"})
"""Nouns after "I am a" / "I work as a" that name a stage, a pastime, unpaid work or a
group, not an occupation."""
WORK_AS_RE = re.compile(
    r"\bi (?:currently |still |now )?(?:work|am working|have been working|(?:just )?(?:started|got)"
    r" (?:a |my )?(?:new )?job|have a (?:new )?job) as (?:an?|the) "
    r"(?P<x>(?:[a-z-]+ ){0,2}?[a-z-]+)(?=\s*(?:[.,!;?]|$|\b(?:and|at|in|for|but|with|so|who"
    r"|because|on|from|since|now|when|to|a few|several|last|this|recently|about|over|almost"
    rf"|{NUM_WORD_RE}|\d+)\b))")
""""I work as a museum tour guide": an occupation whatever the words (but ``NOT_JOBS``)."""
MILITARY_RE = re.compile(r"\bi am (?:currently |now |still |also )?(?:in|serving in|enlisted in)"
                         r" the (?:army|navy|air force|marines|marine corps|military|coast guard"
                         r"|national guard)\b|\bi serve in the (?:army|navy|air force|military)\b")
""""I'm in the army": serving is the one occupation (``soldier``)."""
ASPIRED_JOB_RE = re.compile(
    r"\bi (?:am |was )?(?:(?:still |currently )?(?:studying|training|going to school|in school"
    r"|working)|(?:really |always |have always |have )?(?:want|wanted|hope|plan|dream|would like"
    r"|would love|decided|am going|need)) to (?:be|become) (?:an?|the) (?!(?:better|good|great"
    r"|best|successful|famous|real|professional|full-time|head|senior|certified|licensed) )"
    r"(?P<x>(?:[a-z-]+ ){0,2}?[a-z-]+)(?=\s*(?:[.,!;?]|$|\b(?:and|at|in|for|but|with|so|who"
    r"|because|on|one day|someday|some day|when|like|after|too)\b))")
""""I'm studying to be a teacher", "I want to become a nurse": a job not (yet) held."""
FAVORITE_KINDS = frozenset(PERSONA_VALUES["favorite_kinds"]) | {
    "color", "colour", "season", "food", "movie", "book", "band", "song", "singer", "author",
    "sport", "team", "animal", "drink", "holiday", "subject", "tv show", "show", "flower",
    "fruit", "dessert", "restaurant", "game", "number"}
"""Kinds of favourite a persona holds one value of ("my favorite color is grey"): the common
ones by hand, and the kinds mined from the training families (bench/mine_persona_values.py),
so a small data split does not decide that one has a single favourite colour."""
FAVORITE_RE = re.compile(
    r"\bmy (?:absolute |all-time |all time |very )?favou?rite (?P<k>"
    + "|".join(sorted(FAVORITE_KINDS, key=len, reverse=True))
    + r") is (?:probably |definitely |still |actually |just |either )?(?P<v>[a-z][a-z' -]*?)"
    r"(?=\s*(?:[.,!;?]|$|\b(?:and|but|because|so|since|too|though|or|which|who|by|from)\b))")
""""My favorite color is grey" -> (kind, value)."""
JOB_RE = re.compile(
    r"\b(?P<who>i|my (?:father|dad|mother|mom|mum|husband|wife|brother|sister|son|daughter))"
    r" (?:am|is|was|work as|works as|am working as|have been working as)?\s*(?:an?|the) "
    r"(?:(?!of\b|for\b|with\b|to\b|in\b|at\b)[a-z-]+ ){0,2}?"
    rf"(?P<job>{_OCC_RE})s?\b(?! (?:fan|friend|student|major|school|class|course|degree)\b)"
)
""""I am a professional wrestler", "I work as a school teacher", "my dad is a plumber"."""
ORIGIN_RE = re.compile(
    r"\bi (?:am|was) (?:originally |actually )?(?:from|born in|born and raised in) (?:the )?(?P<c>"
    + "|".join(sorted((c.removeprefix("the ") for c in COUNTRIES), key=len, reverse=True))
    + r")\b")
"""The country one is from or was born in ("I was born in somalia", "I'm from India")."""
COUNTRY_ALIASES = {"usa": "united states", "america": "united states", "us": "united states",
                   "britain": "united kingdom", "uk": "united kingdom", "england": "united kingdom",
                   "scotland": "united kingdom", "wales": "united kingdom",
                   "holland": "netherlands"}
NOT_A_JOB_NOW = re.compile(r"\b(?:avid|amateur|expert|keen|big|huge|passionate|hobby|hobbyist"
                           r"|aspiring|wannabe|weekend|olympian|medalist|champion|veteran)\b")
"""A job noun said of a hobby ("an avid gardener") or a title kept for life ("a gold medalist
olympian", "a veteran"): no job held now."""
EMPLOYED = re.compile(r"\b(?:work|works|working|job|employed|hired|career|shifts?)\b")
"""A job said as employment ("I work as", "a new job as"), not a hobby in a job's words ("I'm
an expert gardener", which a retiree may say)."""
SIDE_JOB = re.compile(r"\b(?:second job|side job|part-time|part time|side hustle|also|as well"
                      r"|too|used to|former|formerly|retired|was|someday|one day|want|wanted"
                      r"|dream|hope|would|studying|training|learning|going to be|pay the bills"
                      r"|make ends meet|on the side)\b")
"""Words that let one person hold two jobs or only a past or future one."""
JOB_WHO = {"dad": "father", "mom": "mother", "mum": "mother"}
WORKPLACE_JOBS: dict[str, frozenset[str]] = {
    "bank": frozenset({"banker", "teller", "accountant", "manager", "clerk", "analyst",
                       "security guard", "secretary", "janitor", "consultant"}),
    "hospital": frozenset({"nurse", "doctor", "paramedic", "pharmacist", "therapist",
                           "secretary", "janitor", "technician", "social worker", "caregiver",
                           "manager", "clerk", "security guard", "chef", "scientist"}),
    "restaurant": frozenset({"chef", "waiter", "bartender", "manager", "cashier", "janitor"}),
    "school": frozenset({"teacher", "janitor", "nurse", "secretary", "librarian", "coach",
                         "therapist", "manager", "social worker", "chef", "security guard",
                         "bus driver"}),
    "library": frozenset({"librarian", "clerk", "manager", "secretary", "janitor"}),
    "farm": frozenset({"farmer", "mechanic", "manager"}),
    "grocery store": frozenset({"cashier", "clerk", "manager", "butcher", "baker",
                                "security guard", "janitor"}),
    "factory": frozenset({"engineer", "manager", "technician", "mechanic", "welder",
                          "janitor", "security guard"}),
    "nursing home": frozenset({"nurse", "caregiver", "doctor", "therapist", "manager", "chef",
                               "janitor", "secretary", "social worker", "paramedic"}),
    "shipyard": frozenset({"welder", "engineer", "mechanic", "electrician", "carpenter",
                           "manager", "technician", "security guard", "construction worker"}),
    "office": frozenset(),
}
"""Where a person works, and the occupations one holds there: "I work at a bank" clashes with
"I work as a school teacher" but not with "I'm a teller". An office fits any occupation."""
PLACE_BOUND = frozenset({"teacher", "librarian", "banker", "teller", "farmer"})
"""Occupations done at one kind of institution (school, library, bank, farm; the table above
says which): not held at another place where people are employed ("I work at a bookstore").
Jobs done in many kinds of place (a bartender's bar or restaurant, a consultant's) are not
listed."""
WORKPLACE_RE = re.compile(
    r"\bi (?:currently |still |now )?(?:work|am working)(?: full-?time| fulltime| part-?time)?"
    r" (?:at|in|for|from) (?:an?|the|my|our|a local|the local)? ?(?P<place>[a-z][a-z' -]*?)"
    r"(?=\s*(?:[,.!;]|$|\b(?:and|but|so|as|where|which|now|for|with|since|because|these|every"
    r"|most|all|during|on|in|at|to|nearby|downtown|near|close)\b))")
WORK_FIELDS = frozenset({"it", "tech", "technology", "software", "sales", "marketing", "finance",
                         "insurance", "retail", "healthcare", "health care", "education",
                         "construction", "customer service", "real estate", "hr", "accounting",
                         "law", "medicine", "nursing", "the medical field", "media",
                         "advertising", "hospitality", "the city", "town", "a team",
                         "myself", "the same company", "a company", "a big company",
                         "a small company", "a startup", "an office", "office", "the office",
                         "er", "icu", "emergency room", "emergency", "lab", "a lab", "shifts",
                         "the kitchen", "kitchen", "the field", "the industry", "management"})
"""What one works *in* without naming a place that excludes others ("I work in IT", "for a
company"): no clash with a workplace or an occupation."""
GRADE_TAUGHT = re.compile(r"\bi teach (?P<grade>kindergarten|(?:first|second|third|fourth|fifth"
                          r"|sixth|seventh|eighth|1st|2nd|3rd|4th|5th|6th|7th|8th) grade|high "
                          r"school|middle school|college)\b|\bi am an? (?P<grade2>kindergarten)"
                          r" teacher\b|\bi work at a school as an? (?P<grade3>kindergarten)"
                          r" teacher\b")
"""The grade a teacher teaches ("I teach third grade" / "a kindergarten teacher")."""
