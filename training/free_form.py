"""Free-form queries a class would type, each with the Unicode subgroups that answer it.

Written by hand for the evaluation, never used in training. A query is
answered ("a hit") when at least 3 of its top 5 pictures belong to one of
its acceptable subgroups (Unicode ``emoji-test.txt`` subgroup names).
"""

FACES_SAD = ("face-concerned", "face-negative", "face-unwell")
ANIMALS = ("animal-mammal", "animal-bird", "animal-amphibian", "animal-reptile", "animal-marine", "animal-bug")
HANDS = ("hand-fingers-open", "hand-fingers-partial", "hand-single-finger", "hand-fingers-closed", "hands", "hand-prop")

QUERIES: dict[str, tuple[str, ...]] = {
    # categories
    "a vehicle": ("transport-ground", "transport-water", "transport-air"),
    "a wild animal": ANIMALS,
    "a pet": ("animal-mammal", "cat-face"),
    "a bird": ("animal-bird",),
    "an insect": ("animal-bug",),
    "an animal that lives in the sea": ("animal-marine",),
    "fruit": ("food-fruit",),
    "vegetables": ("food-vegetable",),
    "a sweet dessert": ("food-sweet",),
    "something to drink": ("drink",),
    "seafood": ("food-marine", "animal-marine", "food-asian"),
    "a flower": ("plant-flower",),
    "a tree or a plant": ("plant-other", "plant-flower"),
    "a boat": ("transport-water",),
    "clothes": ("clothing",),
    "a musical instrument": ("musical-instrument",),
    "a computer or a phone": ("computer", "phone"),
    "a country's flag": ("country-flag", "flag"),
    "a number": ("keycap", "alphanum"),
    "a shape": ("geometric",),
    "a building": ("place-building", "place-religious", "hotel"),
    # moods and faces
    "an unhappy face": FACES_SAD,
    "a happy face": ("face-smiling", "face-affection", "face-tongue"),
    "an angry face": ("face-negative", "face-concerned"),
    "feeling sick": ("face-unwell",),
    "sleepy": ("face-sleepy", "person-resting"),
    "love": ("heart", "face-affection", "emotion", "family"),
    "a hand gesture": HANDS,
    # activities and events
    "sports": ("sport", "person-sport", "award-medal"),
    "party time": ("event", "face-hat", "drink"),
    "a holiday celebration": ("event",),
    "playing a game": ("game", "sport"),
    "winning a prize": ("award-medal", "sport"),
    "music": ("music", "musical-instrument"),
    "reading a book": ("book-paper",),
    "cooking in the kitchen": ("dishware", "food-prepared", "person-role"),
    "something spooky": ("face-costume", "person-fantasy", "event"),
    # places and weather
    "a place of worship": ("place-religious", "religion"),
    "the weather": ("sky & weather",),
    "the night sky": ("sky & weather", "place-other"),
    "a famous landmark": ("place-map", "place-building"),
    "a day at the beach": ("place-geographic", "place-other", "sky & weather", "transport-water"),
    # uses
    "cash": ("money", "currency"),
    "something that flies": ("animal-bird", "transport-air", "animal-bug"),
    "something to eat for breakfast": ("food-prepared", "food-fruit", "drink"),
    "an office supply": ("office", "writing", "book-paper"),
    "a tool for fixing things": ("tool",),
    "medicine": ("medical",),
    "a science experiment": ("science",),
    "what time is it": ("time",),
    "sending a letter": ("mail",),
    "a warning sign": ("warning", "transport-sign"),
    "an arrow pointing somewhere": ("arrow",),
    "someone's job": ("person-role",),
    "a fairy tale character": ("person-fantasy", "face-costume"),
}
