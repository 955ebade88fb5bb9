"""Prompt sets of the two-tower zero-shot protocol (Vasilakis et al.), as data.

:data:`PROMPT_SETS` maps the published set names (as in the published result tables)
to templates; ``{x}`` is the class label, ``{sentence}`` an unrelated sentence drawn
with a seed, ``{definition}`` the class's definition and ``{definition_no_label}`` the
definition with the label's words removed. The definitions and sentences are
timbrefast's own texts (the published ones are not ours to copy).
"""
from __future__ import annotations

import random
import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = [
    "TINYSOL_CLASSES",
    "TINYSOL_FAMILIES",
    "FAMILIES",
    "FAMILY_TEMPLATES",
    "DEFINITIONS",
    "RANDOM_SENTENCES",
    "PROMPT_SETS",
    "prompt_texts",
    "family_prompt_texts",
    "remove_label_words",
]

#: The 14 TinySOL classes, labelled as the published evaluation prompts them.
TINYSOL_CLASSES: Tuple[str, ...] = (
    "bass tuba", "french horn", "trombone", "trumpet in c", "accordion", "contrabass", "violin",
    "viola", "violoncello", "bassoon", "clarinet in b-flat", "flute", "oboe", "alto saxophone",
)

#: The families of the family-level prompts.
FAMILIES: Tuple[str, ...] = ("key", "brass", "woodwind", "string")

#: Family of each TinySOL class (the accordion is the one keyboard instrument).
TINYSOL_FAMILIES: Dict[str, str] = {
    "bass tuba": "brass", "french horn": "brass", "trombone": "brass", "trumpet in c": "brass",
    "accordion": "key", "contrabass": "string", "violin": "string", "viola": "string",
    "violoncello": "string", "bassoon": "woodwind", "clarinet in b-flat": "woodwind",
    "flute": "woodwind", "oboe": "woodwind", "alto saxophone": "woodwind",
}

#: Templates of the family-level prompts ({x} = a family of :data:`FAMILIES`).
FAMILY_TEMPLATES: Tuple[str, ...] = ("A {x} track", "A {x} instruments track", "A track of {x} musical instruments")

#: One paragraph per TinySOL class, written for timbrefast.
DEFINITIONS: Dict[str, str] = {
    "bass tuba": (
        "The bass tuba is the largest and lowest of the valved brass instruments. Its wide conical "
        "bore, big upturned bell and deep cup mouthpiece give a round, dark and weighty tone that "
        "anchors the bass line of orchestras, wind bands and brass bands, and it can play soft "
        "sustained pedal notes as well as surprisingly agile melodies."
    ),
    "french horn": (
        "The french horn is a brass instrument made of a long tube coiled into a circle and ending in a "
        "wide flared bell, usually pointed backwards and shaped by the player's hand. Played through a "
        "small funnel mouthpiece with rotary valves, it has a mellow, veiled and noble sound that blends "
        "with woodwinds and strings and can rise to a brilliant call."
    ),
    "trombone": (
        "The trombone is a low brass instrument whose pitch is changed with a telescopic slide instead "
        "of valves. Moving the slide lengthens or shortens the tubing, so the player can bend notes and "
        "make continuous glissandi. Its tone ranges from soft and warm to broad and brassy, and it is at "
        "home in the orchestra, in jazz big bands and in brass ensembles."
    ),
    "trumpet in c": (
        "The trumpet in c is a trumpet pitched in C, the version many orchestral players prefer. It is the "
        "highest member of the common brass section, with a mostly cylindrical bore, three piston valves "
        "and a cup mouthpiece, and its sound is bright, clear and penetrating, able to carry a fanfare over "
        "a full orchestra or play a quiet lyrical line."
    ),
    "accordion": (
        "The accordion is a portable free-reed instrument: metal reeds vibrate when the player pushes and "
        "pulls a pleated bellows while pressing keys or buttons. The right hand plays melodies on a piano "
        "keyboard or button board, the left hand bass notes and ready-made chords, giving a reedy, "
        "sustained and often tremulous sound heard in folk, tango and musette music."
    ),
    "contrabass": (
        "The contrabass, also called double bass, is the largest and lowest bowed string instrument of the "
        "orchestra. It is played standing or on a high stool, with a bow or plucked with the fingers, and "
        "its four or five thick strings produce a deep, resonant foundation in orchestras, and a walking "
        "pizzicato pulse in jazz."
    ),
    "violin": (
        "The violin is the smallest and highest-pitched member of the bowed string family. Held under the "
        "chin, it has four strings tuned in fifths that are set vibrating by a horsehair bow or plucked. "
        "Its singing, brilliant and very flexible tone lets it lead the orchestra, carry virtuoso solos "
        "and play folk fiddle tunes alike."
    ),
    "viola": (
        "The viola is a bowed string instrument a little larger than the violin and tuned a fifth lower, "
        "its music usually written in the alto clef. Held under the chin and played with a bow, it has a "
        "darker, warmer and slightly husky tone that fills the middle voices of string quartets and "
        "orchestras."
    ),
    "violoncello": (
        "The violoncello, usually shortened to cello, is a large bowed string instrument played seated "
        "with the body held between the knees and resting on an endpin. Tuned an octave below the viola, "
        "it covers a wide range from a rich, sonorous bass to a tenor register that sings much like a "
        "human voice."
    ),
    "bassoon": (
        "The bassoon is the bass of the woodwind section: a long wooden tube folded back on itself and "
        "played through a double reed on a curved metal crook. Its many keys give a range of more than "
        "three octaves, and its tone can be dark and reedy in the low register, gentle and plaintive "
        "higher up, and comic when played staccato."
    ),
    "clarinet in b-flat": (
        "The clarinet in b-flat is the most common clarinet, a transposing woodwind instrument sounding a "
        "whole tone below its written notes. It has a mostly cylindrical bore and a single reed clamped to "
        "a mouthpiece; its dark low chalumeau register, clear middle and bright top give it a smooth, "
        "flexible tone used in orchestras, bands, jazz and klezmer."
    ),
    "flute": (
        "The flute is a woodwind instrument without a reed: the player blows a stream of air across the "
        "edge of an embouchure hole in a metal tube held sideways. Its keys cover about three octaves, "
        "and its sound is light, airy and pure, breathy in the low register and bright and agile in the "
        "high one."
    ),
    "oboe": (
        "The oboe is a treble woodwind instrument with a conical bore played through a narrow double reed "
        "held between the lips. Its sound is focused, penetrating and slightly nasal, expressive in slow "
        "melodies and easy to pick out of an ensemble; the orchestra traditionally tunes to its A."
    ),
    "alto saxophone": (
        "The alto saxophone is a conical brass-bodied woodwind instrument with a single reed, pitched in "
        "E-flat between the soprano and the tenor saxophones. With its curved neck and upturned bell it "
        "has a bright, vocal and flexible tone that can be sweet or edgy, heard above all in jazz, in "
        "concert bands and in popular music."
    ),
}

#: Unrelated sentences for the "{x} + a random sentence" prompts, written for timbrefast.
RANDOM_SENTENCES: Tuple[str, ...] = (
    "the train to the coast leaves every hour on the hour.",
    "she planted tomatoes along the south side of the garden.",
    "a thin layer of frost covered the parked cars this morning.",
    "the committee postponed its decision until next spring.",
    "he repainted the kitchen cabinets a pale shade of green.",
    "the bakery on the corner sells out of rye bread by noon.",
    "several ducks gathered near the edge of the frozen pond.",
    "the library extended its opening hours during the exam period.",
    "a gust of wind scattered the papers across the courtyard.",
    "the recipe calls for two cups of flour and a pinch of salt.",
    "our neighbours adopted a small grey cat from the shelter.",
    "the bridge will be closed for repairs throughout the summer.",
    "they hiked to the top of the ridge before the fog rolled in.",
    "the old map showed a road that no longer exists.",
    "a delivery van was double parked outside the pharmacy.",
    "the museum displays a collection of antique pocket watches.",
    "rain is expected to clear by the late afternoon.",
    "the children built a fort out of cardboard boxes.",
    "the spreadsheet listed every invoice from the last quarter.",
    "a lighthouse stood at the far end of the rocky peninsula.",
    "the soup needed more pepper than the recipe suggested.",
    "he lost his umbrella somewhere between the office and the station.",
    "the orchard produced an unusually large crop of pears this year.",
    "the meeting room smelled faintly of fresh coffee.",
)

#: Published prompt-set names -> templates (see the module docstring for the fields).
PROMPT_SETS: Dict[str, str] = {
    "muscall_prompt": "A {x} track",
    "label_random_context": "{x} {sentence}",
    "negative_muscall_prompts": "A no {x} track",
    "this_is_a_recording_of": "This is a recording of {x}",
    "solo_musical_instrument_sound_of": "Solo musical instrument sound of {x}",
    "sound_of_musical_instrument": "Sound of {x} musical instrument",
    "definition": "{definition}",
    "definition_no_label_word": "{definition_no_label}",
}


def remove_label_words(text: str, label: str, *, compat: Optional[str] = None) -> str:
    """``text`` without the words of ``label``.

    Default: whole words only, case-insensitive (``"trumpet in c"`` removes the words
    "trumpet", "in" and "c", not every letter c), then spaces tidied.
    ``compat="vasilakis2024"``: the published behaviour, plain substring removal of each
    word (case-sensitive), then triple spaces reduced to one.

    Examples
    --------
    >>> from timbrefast.two_tower.prompts import remove_label_words
    >>> remove_label_words("A trumpet in C sounds clear.", "trumpet in c")
    'A sounds clear.'
    >>> remove_label_words("a cool trumpet in c", "trumpet in c", compat="vasilakis2024")
    'a ool '
    """
    if not isinstance(text, str) or not isinstance(label, str):
        raise TypeError("text and label must be strings")
    words = label.split(" ") if compat == "vasilakis2024" else label.split()
    if not [w for w in words if w]:
        raise ValueError("label has no words")
    if compat == "vasilakis2024":
        for w in words:
            text = text.replace(w, "")
        return text.replace("   ", " ")
    if compat is not None:
        raise ValueError(f"compat must be None or 'vasilakis2024', got {compat!r}")
    for w in words:
        text = re.sub(rf"(?<![\w-]){re.escape(w)}(?![\w-])", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([.,;:!?'])", r"\1", text)
    return text.strip()


def _check_classes(classes: Sequence[str]) -> List[str]:
    if isinstance(classes, str):
        raise TypeError("classes must be a sequence of class names, not one string")
    out = list(classes)
    if not out:
        raise ValueError("classes is empty")
    for c in out:
        if not isinstance(c, str) or not c.strip():
            raise ValueError(f"every class must be a non-empty string, got {c!r}")
    if len(set(out)) != len(out):
        dup = sorted({c for c in out if out.count(c) > 1})
        raise ValueError(f"classes has duplicates: {dup}")
    return out


def prompt_texts(
    name: str,
    classes: Sequence[str] = TINYSOL_CLASSES,
    *,
    seed: int = 0,
    definitions: Optional[Mapping[str, str]] = None,
    compat: Optional[str] = None,
) -> List[str]:
    """One prompt per class for the prompt set ``name`` of :data:`PROMPT_SETS`.

    ``seed`` draws the sentences of ``"label_random_context"`` (``random.Random(seed)``);
    ``definitions`` (class -> paragraph) default to :data:`DEFINITIONS`; ``compat`` is
    passed to :func:`remove_label_words`.

    Examples
    --------
    >>> from timbrefast.two_tower.prompts import prompt_texts
    >>> prompt_texts("this_is_a_recording_of", ["violin", "oboe"])
    ['This is a recording of violin', 'This is a recording of oboe']
    """
    from .._validate import check_int

    if name not in PROMPT_SETS:
        raise ValueError(f"unknown prompt set {name!r}; choose from {sorted(PROMPT_SETS)}")
    classes = _check_classes(classes)
    template = PROMPT_SETS[name]
    rng = random.Random(check_int(seed, "seed"))
    defs = DEFINITIONS if definitions is None else definitions
    out = []
    for c in classes:
        fields = {"x": c}
        if "{sentence}" in template:
            fields["sentence"] = rng.choice(RANDOM_SENTENCES)
        if "{definition" in template:
            if c not in defs:
                raise ValueError(f"no definition for class {c!r}; pass definitions={{class: text}}")
            fields["definition"] = defs[c]
            if "{definition_no_label}" in template:
                fields["definition_no_label"] = remove_label_words(defs[c], c, compat=compat)
        text = template
        for k, v in fields.items():
            text = text.replace("{" + k + "}", v)
        out.append(text)
    return out


def family_prompt_texts(template: str = FAMILY_TEMPLATES[0], families: Sequence[str] = FAMILIES) -> List[str]:
    """One prompt per family (``{x}`` = the family), e.g. ``"A brass instruments track"``."""
    if "{x}" not in template:
        raise ValueError(f"template {template!r} has no '{{x}}' placeholder")
    return [template.replace("{x}", f) for f in _check_classes(families)]
