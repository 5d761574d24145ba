"""Nationality words and the nations they name: "American", "Hungarian-Austrian" (two),
"English" (British). Capitalised or not, a word before "-language" is no nationality
("English-language"). Used where two sentences are held side by side (rag.verdicts,
rag.shared)."""

from __future__ import annotations

import re

# Nationality words, each with the nation it names (a nation's several words share one key).
NATIONS: dict[str, str] = {
    **{w: w for w in """
        afghan albanian algerian andorran angolan argentine argentinian armenian australian austrian
        azerbaijani bahamian bahraini bangladeshi barbadian belarusian belgian belizean beninese
        bhutanese bolivian bosnian botswanan brazilian bruneian bulgarian burmese burundian
        cambodian cameroonian canadian chadian chilean chinese colombian congolese croatian cuban
        cypriot czech danish djiboutian dominican dutch ecuadorian egyptian emirati eritrean estonian
        ethiopian fijian filipino finnish french gabonese gambian georgian german ghanaian greek
        grenadian guatemalan guinean guyanese haitian honduran hungarian icelandic indian
        indonesian iranian iraqi irish israeli italian ivorian jamaican japanese jordanian kazakh
        kenyan korean kosovar kuwaiti kyrgyz laotian latvian lebanese liberian libyan lithuanian
        luxembourgish macedonian malagasy malawian malaysian maldivian malian maltese mauritanian
        mauritian mexican moldovan monegasque mongolian montenegrin moroccan mozambican namibian
        nepalese nicaraguan nigerian nigerien norwegian omani pakistani palestinian panamanian
        paraguayan peruvian polish portuguese qatari romanian russian rwandan salvadoran samoan
        saudi senegalese serbian singaporean slovak slovenian somali spanish sudanese
        surinamese swazi swedish swiss syrian taiwanese tajik tanzanian thai togolese tongan
        trinidadian tunisian turkish turkmen ugandan ukrainian uruguayan uzbek venezuelan
        vietnamese yemeni zambian zimbabwean
        soviet yugoslav prussian bavarian
    """.split()},
    "american": "american",
    "british": "british",
    "english": "british",
    "scottish": "british",
    "welsh": "british",
    "new zealand": "new zealand",
    "south african": "south african",
    "puerto rican": "puerto rican",
    "costa rican": "costa rican",
    "sri lankan": "sri lankan",
}
NATION_WORDS = re.compile(
    r"\b(" + "|".join(sorted((re.escape(w) for w in NATIONS), key=len, reverse=True)) + r")\b(?![-\s]language)",
    re.IGNORECASE,
)


def nations(text: str) -> set[str]:
    """The nations the nationality words of ``text`` name ("Hungarian-Austrian": two)."""
    return {nation for nation, _ in nation_spans(text)}


def nation_spans(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Each nationality word of ``text``: the nation it names and where it stands."""
    return [(NATIONS[m.group(1).lower()], m.span(1)) for m in NATION_WORDS.finditer(text)]
