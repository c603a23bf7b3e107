"""The category lexicons: plain data, read by :mod:`pixelmill.safety.lexicon`.

Notation: a term is written in plain lower case; ``*`` at the end means "this stem followed by
any letters" (``masturbat*``); a space matches any run of blanks. Latin-script terms match whole
words (an ``s``/``es`` plural is allowed); terms with CJK characters match as substrings;
Cyrillic terms match at a word start. Every term goes through the same normalisation as the
prompt, so accents and case do not matter here.

Groups are *signals*; :mod:`pixelmill.safety.lexicon` combines them into categories (a minor
term with a sexual term is ``sexual_minors``; a soft nudity term passes in an art or medical
context; a soft violence term blocks only with a graphic intensifier...).

Lists stay short and clinical on purpose: the embedding layer generalises beyond them, and
operators add urgent patterns to the hard-block rules file (docs/safety.md).
"""

from __future__ import annotations

# --- sexual ---------------------------------------------------------------------------------
SEX_STRONG: tuple[str, ...] = (
    "porn", "porno", "pornographic", "pornography", "xxx", "hentai", "nsfw", "explicit sex",
    "sex scene", "having sex", "sex act", "sexual intercourse", "intercourse", "blowjob",
    "blow job", "handjob", "hand job", "orgasm*", "masturbat*", "genitals", "genitalia",
    "erect penis", "penetration", "fucking", "fuck", "cumshot", "creampie", "gangbang", "orgy",
    "orgies", "bukkake", "sex tape", "sextape", "erotic", "erotica", "xrated", "x-rated", "smut",
    "stripper pole", "spread legs", "spreading her legs", "onlyfans", "camgirl", "pussy",
    "dick pic", "boobs out", "lewd", "ahegao", "bdsm",
    "bondage", "sex doll", "sex position", "sexual position", "69 position",
    "sexually explicit", "softcore", "sex", "sexual act", "sexual acts", "horny",
    "x rated", "rule34", "rule 34", "r34", "milf", "threesome", "cum",
    "semen", "ejaculat*", "clitoris", "labia", "anal sex", "oral sex", "sexting", "nudes",
    "titties", "tits", "boobies",
    # es fr de pt it
    "pornografia", "pornografico", "pornografica", "sexo explicito", "teniendo sexo",
    "haciendo el amor", "sexe explicite", "pornographique", "faisant l'amour", "expliziter sex",
    "pornografie", "pornografisch", "sex haben", "beim sex", "fazendo sexo", "pornô",
    "sesso esplicito", "fare sesso", "facendo sesso", "pornografico",
    # ru zh ja
    "порно", "порнография", "секс", "эротика", "эротическ", "сношение",
    "色情", "做爱", "性交", "黄色图片", "淫", "av女优", "ポルノ", "セックス", "性行為", "エロ", "わいせつ",
)
"""Explicit sexual content: blocks alone (category ``sexual``)."""

NUDE_SOFT: tuple[str, ...] = (
    "nude", "naked", "nudity", "topless", "bottomless", "undressed", "undressing", "unclothed", "stripper",
    "without clothes", "no clothes", "no clothing", "without clothing", "wearing nothing",
    "bare breasts", "bare breasted", "bare-breasted", "bare chested woman", "in the nude",
    "au naturel", "birthday suit", "strip tease", "striptease", "lingerie",
    "disrobed", "disrobing", "exposed breasts", "breasts exposed", "buttocks", "bare butt",
    "nekkid", "nakey", "nudie", "skinny dipping", "skinny-dipping", "see-through",
    "see through clothes", "transparent clothes", "wet t-shirt", "nsfw", "nip slip", "nipples", "nipple",
    # es fr de pt it
    "desnuda", "desnudo", "desnudas", "desnudos", "desnudez", "sin ropa", "en topless",
    "nue", "nues", "denudee", "sans vetements", "seins nus", "nackt", "nackte",
    "nackter", "nacktes", "ohne kleidung", "oben ohne", "nua", "nuas", "pelada", "pelado",
    "sem roupa", "nudez", "nuda", "nude", "nudo", "senza vestiti", "svestita",
    # ru zh ja
    "голая", "голый", "голые", "голой", "обнаженн", "обнажённ", "без одежды", "нагая", "нагой",
    "裸体", "裸照", "全裸", "裸女", "没穿衣服", "一丝不挂", "裸", "ヌード", "全裸", "裸の", "はだか",
)
"""Nudity: blocks as ``sexual`` unless an art/medical context term is present (and always blocks
with a minor term or a real person)."""

SUGGESTIVE: tuple[str, ...] = (
    "nipples", "sexy", "seductive", "seductively", "sensual", "provocative", "provocatively", "erotic",
    "lingerie", "panties", "suggestive",
    "in bed with", "pinup", "pin-up", "alluring", "busty", "thong", 
    "sexi", "sexy pose", "sensuelle", "sensual", "verführerisch", "sexy", "сексуальн", "性感",
    "セクシー", "lenceria", "lingerie", "dessous", "intimo",
)
"""Suggestive terms: harmless alone; with a minor term they make ``sexual_minors``."""

ART_CONTEXT: tuple[str, ...] = (
    "sculpture", "sculpted", "statue", "statues", "marble", "bronze", "painting", "oil painting",
    "oil on canvas", "canvas", "fresco", "renaissance", "classical", "baroque", "neoclassical",
    "museum", "gallery", "art student", "art class", "art school", "sketching", "plaster cast",
    "mannequin", "mannequins", "figure drawing", "life drawing", "charcoal", "sketch", "art study",
    "academic study", "venus", "michelangelo", "botticelli", "rodin", "titian", "rubens",
    "goya", "manet", "modigliani", "greek", "roman", "antiquity", "ancient", "art history",
    "anatomy", "anatomical", "medical", "textbook", "diagram", "illustration of the",
    "watercolor", "watercolour", "etching", "engraving", "pencil", "drawing", 
    
    
    "escultura", "estatua", "pintura", "sculpture", "statue", "peinture", "tableau",
    "skulptur", "gemalde", "aktmalerei", "aktstudie", "escultura", "pintura", "scultura",
    "statua", "dipinto", "pittura", "скульптура", "статуя", "картина", "живопись",
    "雕塑", "雕像", "油画", "美术", "彫刻", "彫像", "絵画", "美術",
)
"""Context that makes a soft nudity term acceptable (art, medicine, cosmetics colours)."""

# --- minors ---------------------------------------------------------------------------------
MINOR: tuple[str, ...] = (
    "child", "children", "childs", "kid", "kids", "kiddie", "little girl", "little girls",
    "little boy", "little boys", "young girl", "young girls", "young boy", "young boys",
    "toddler", "baby", "babies", "infant", "preteen", "pre-teen", "pre teen", "tween",
    "teen", "teens", "teenage", "teenager", "teenagers", "underage", "under-age", "under age",
    "minors", "schoolgirl", "schoolgirls", "schoolboy", "schoolboys", "school girl",
    "school boy", "elementary school", "middle school", "middle schooler", "kindergarten",
    "juvenile", "prepubescent", "pubescent", "adolescent", "youngster", 
    "jailbait", "barely legal", "girl scout", "cub scout", "highschool girl", "high school girl",
    "junior high", "grade schooler", "lolita", "little sister", "kiddy",
    "niña", "niñas", "niño", "niños", "menor de edad", "menores", "adolescente", "colegiala",
    "enfant", "enfants", "fillette", "petite fille", "petit garcon", "mineure", "mineur",
    "ecoliere", "madchen", "kleines madchen", "minderjahrig*", "schulmadchen",
    "crianca", "criancas", "menina", "meninas", "menino", "menor de idade", "bambina",
    "bambino", "bambini", "ragazzina", "minorenne", "scolaretta",
    "ребенок", "ребёнок", "дети", "девочка", "девочки", "мальчик", "несовершеннолетн",
    "школьница", "подросток",
    "儿童", "小孩", "孩子", "未成年", "幼女", "女童", "小女孩", "少女", "小学生", "初中生",
    "子供", "子ども", "児童", "幼女", "小学生", "中学生", "未成年", "女子小学生",
)
"""Terms for minors: harmless alone; never combine with sexual, nude or suggestive terms."""

MINOR_STRONG: tuple[str, ...] = (
    "loli", "lolicon", "shota", "shotacon", "pedo", "pedophile", "pedophilia", "pedophilic",
    "paedophile", "paedophilia", "child porn", "childporn", "child pornography", "csam",
    "child abuse material", "underage sex", "pedofilia", "pedofilo", "pedophile", "pädophil*",
    "педофил*", "ロリ", "ロリコン", "ショタ", "萝莉", "恋童",
)
"""Terms that name sexual content with minors outright: ``sexual_minors`` alone."""

# --- real people ------------------------------------------------------------------------------
REAL_PERSON: tuple[str, ...] = (
    "taylor swift", "emma watson", "scarlett johansson", "kim kardashian", "beyonce",
    "rihanna", "selena gomez", "ariana grande", "billie eilish", "margot robbie",
    "jennifer lawrence", "gal gadot", "zendaya", "natalie portman", "angelina jolie",
    "jennifer aniston", "kylie jenner", "lady gaga", "miley cyrus", "dua lipa", "shakira",
    "donald trump", "joe biden", "barack obama", "michelle obama", "kamala harris",
    "hillary clinton", "vladimir putin", "elon musk", "mark zuckerberg", "bill gates",
    "jeff bezos", "queen elizabeth", "king charles", "prince harry", "meghan markle",
    "angela merkel", "emmanuel macron", "justin trudeau", "narendra modi", "xi jinping",
    "keanu reeves", "tom cruise", "brad pitt", "leonardo dicaprio", "johnny depp",
    "justin bieber", "harry styles", "cristiano ronaldo", "lionel messi", "oprah winfrey",
    "greta thunberg", "pope francis", "nicki minaj", "megan fox", "emma stone",
    "anne hathaway", "jennifer lopez", "ana de armas", "sydney sweeney", "jenna ortega",
    "millie bobby brown", "olivia rodrigo", "sabrina carpenter", "katy perry", "adele",
    "tom holland", "timothee chalamet", "chris hemsworth", "dwayne johnson", "the rock",
    "bts", "blackpink", "lisa manoban", "jisoo", "jennie kim",
)
"""Well-known public figures (a starter list; the embedding layer and operator rules extend it)."""

CELEB_GENERIC: tuple[str, ...] = (
    "celebrity", "celebrities", "celeb", "celebs", "famous actress", "famous actor",
    "famous singer", "pop star", "popstar", "movie star", "real person", "real people",
    "politician", "president", "prime minister", "deepfake", "deep fake", "lookalike",
    "look-alike", "influencer", "streamer", "my ex", "my coworker", "my classmate",
    "my neighbor", "my neighbour", "my boss", "my teacher", "face swap", "faceswap",
)
"""Generic real-person references: with a nudity/sexual term, ``real_person_sexual``."""

# --- violence and gore ----------------------------------------------------------------------
VIOLENCE_STRONG: tuple[str, ...] = (
    "gore", "gory", "gruesome", "grisly", "decapitat*", "beheading", "beheaded", "severed head",
    "severed heads", "severed limb", "severed limbs", "dismember*", "disembowel*", "eviscerat*",
    "mutilat*", "entrails", "intestines spilling", "guts spilling", "spilled guts",
    "blood and guts", "blood splatter", "blood-splattered", "blood splattered",
    "splattered brains", "brains splattered", "brain matter", "exploding head", "head exploding",
    "flayed", "skinned alive", "burned alive", "burning alive", "impaled", 
    "snuff", "bloodbath", "blood bath", "slit throat",
    "throat slit", "slitting throat", "cut throat", "mangled body", "mangled corpse",
    "mangled bodies", "exposed organs", "ripped apart", "torn apart", "torn limb from limb",
    "shot in the head", "headshot wound", "brutal murder", "brutally murdered",
    "graphic violence", "pool of blood", "covered in blood", "blood everywhere",
    "dripping blood", "bleeding out", "stabbed to death", "beaten to death", "hacked to death",
    "cannibal*", "chainsaw massacre", "execution video", "murder scene",
    "crime scene photo", "autopsy photo", "rotting corpse", "decomposing body", "maggots eating",
    "eye gouged", "gouged out", "crushed skull", "massacre victims",
    "decapitado", "decapitada", "desmembrado", "desmembrada", "tripas", "descuartizado",
    "decapite", "demembre", "eviscere", "tripes", "enthauptet", "zerstuckelt", "eingeweide",
    "blutbad", "decapitato", "smembrato", "budella", "sbudellato", "squartato",
    "обезглавлен*", "расчленен*", "расчленён*", "кишки", "кровавое месиво",
    "斩首", "肢解", "血腥", "内脏", "碎尸", "斬首", "バラバラ死体", "グロ", "内臓", "惨殺",
)
"""Graphic violence and gore: ``violence_gore`` alone."""

VIOLENCE_SOFT: tuple[str, ...] = (
    "kill", "killing", "killed", "murder", "murdered", "murdering", "stab", "stabbing",
    "stabbed", "shooting", "shot", "corpse", "corpses", "dead body", "dead bodies", "blood",
    "bloody", "bleeding", "wound", "wounds", "massacre", "execution", "executed", "beaten",
    "beating", "torture", "tortured", "torturing", "slaughter", "slaughtered", "violent", "violence", "attack", "attacking",
    "war", "battle", "dead", "victim", "victims", "knife", "gun", "axe", "machete", "chainsaw",
    "sangre", "sang", "blut", "sangue", "кровь", "血",
)
"""Violence words that also name history, war and fiction: block only with an intensifier."""

GORE_INTENSIFIER: tuple[str, ...] = (
    "graphic", "explicit", "realistic wounds", "close-up of wounds", "closeup of wounds",
    "detailed wounds", "exposed bone", "exposed bones", "guts", "splatter", "splattered",
    "soaked in blood", "blood soaked", "blood-soaked", "oozing", 
    "sadistic", "screaming in pain", "mangled", "severed",
    "hyper realistic gore", "innards", "viscera", "visceral",
)
"""With a soft violence word, makes ``violence_gore``."""

# --- hate -----------------------------------------------------------------------------------
HATE_STRONG: tuple[str, ...] = (
    "nigger", "niggers", "nigga", "faggot", "faggots", "kike", "kikes", "chink", "chinks",
    "spic", "spics", "wetback", "wetbacks", "tranny", "trannies", "raghead", "sandnigger",
    "heil hitler", "sieg heil", "white power", "white supremacy", "white supremacist",
    "gas the jews", "race war", "ethnic cleansing", "final solution",
    "hitler was right", "holocaust was fake", "holocaust denial", "great replacement",
    "master race", "inferior race", "subhuman race", 
    "lynching", "lynch mob",
    "exterminar a los", "muerte a los", "exterminer les", "mort aux", "tod den", "vernichtet die",
    "exterminar os", "morte aos", "sterminare gli", "morte agli", "morte ai",
    "смерть всем", "уничтожить всех", "杀光", "消灭所有", "皆殺し", "抹殺せよ",
)
"""Slurs, extremist slogans and calls for extermination: ``hate`` alone."""

HATE_GROUP: tuple[str, ...] = (
    "jews", "jewish people", "muslims", "black people", "blacks", "gays", "gay people",
    "lesbians", "trans people", "transgender people", "immigrants", "refugees", "mexicans",
    "asians", "chinese people", "arabs", "christians", "hindus", "roma", "gypsies", "africans",
    "women", "indians", "latinos", "migrants", "judios", "musulmanes", "juifs", "musulmans",
    "juden", "muslime", "judeus", "ebrei", "musulmani", "евреи", "мусульмане",
)
HATE_DEHUMANIZE: tuple[str, ...] = (
    "vermin", "subhuman", "as rats", "as vermin", "as cockroaches", "as parasites", "as apes",
    "as monkeys", "are animals", "like animals", "are rats", "like rats", "are inferior",
    "are a disease", "are a plague", "kill all", "exterminate", "exterminate all", "death to",
    "go back to your country", "out of our country", "sub-human", "cockroaches", "parasites", 
    "should die", "must die", "deserve to die", "must be exterminated", "be exterminated",
    "burning in ovens", "in gas chambers",
    "hanging from trees", "being lynched", "being executed", "get out of our country",
    "alimañas", "parasitos", "vermine", "ungeziefer", "untermenschen", "parassiti",
)
EXTREMIST: tuple[str, ...] = (
    "nazi", "nazis", "kkk", "ku klux klan", "swastika", "ss officer", "third reich",
    "neo-nazi", "neonazi", "confederate flag", "hakenkreuz", "esvastica", "croix gammee",
    "свастика", "нацист*", "纳粹", "ナチス",
)
GLORIFY: tuple[str, ...] = (
    "glorious", "glorifying", "glorify", "glorified", "heroic", 
    "recruitment poster", "recruitment", "hail", 
    "praise", "praising", "join the",
    "we will win", "supremacy", 
)

# --- self-harm ------------------------------------------------------------------------------
SELF_HARM_STRONG: tuple[str, ...] = (
    "slit wrists", "slit my wrists", "slitting wrists", "slitting my wrists", "slit her wrists",
    "cutting myself", "cut myself", "cutting herself", "cutting himself", "killing herself",
    "killing himself", "kill herself", "kill himself", "hanging himself", "hanging herself", "kill myself", "killing myself", "hang myself",
    "hanging myself", "suicide method", "suicide methods", "how to commit suicide",
    "commit suicide", "committing suicide", "pro-ana", "pro ana", "proana", "thinspo",
    "thinspiration", "meanspo", "bonespo", "self harm cuts", "self-harm cuts", "fresh cuts",
    "cutting her wrists", "cutting his wrists", "end my life", "ending my life",
    "suicide note", "noose around my neck", "jump off a bridge", "jumping off a bridge",
    "overdose on pills", "overdosing on pills", "razor cuts on arms", "bleeding wrists",
    "suicidarse", "suicidarme", "cortarme las venas", "me suicider", "se suicider",
    "me tailler les veines", "selbstmord begehen", "mich umbringen", "pulsadern aufschneiden",
    "me matar", "cortar os pulsos", "suicidar-me", "suicidarmi", "tagliarmi le vene",
    "покончить с собой", "порезать вены", "убить себя", "自杀方法", "割腕", "自杀", "自殺",
    "リストカット", "リスカ", "自傷",
)
SELF_HARM_SOFT: tuple[str, ...] = (
    "suicide", "suicidal", "self harm", "self-harm", "self injury", "self-injury", "selfharm",
    "noose", "overdose", "autolesion", "automutilation",
    "selbstverletzung", "automutilacao", "autolesionismo", "самоповрежден*", "自残",
)
SELF_HARM_INTENSIFIER: tuple[str, ...] = (
    "bleeding", "blood", "fresh", "how to", "step by step", "instructions", "method",
    "methods", "glorify", "glorifying", "beautiful", "aesthetic", "romantic", "romanticized",
    "graphic", "close-up", "closeup", "encouraging", "encourage",
    "tutorial", "guide",
)
SELF_HARM_SAFE: tuple[str, ...] = (
    "prevention", "awareness", "hotline", "helpline", "recovery", "support group", "therapy",
    "therapist", "survivor", "memorial", "squad", "help is available", "crisis line",
)

# --- phrases that contain scary words but are harmless ----------------------------------------
ALLOW_PHRASES: tuple[str, ...] = (
    "killer whale", "killer whales", "bloody mary", "nude lipstick", "nude lip", "nude heels",
    "nude color", "nude colour", "nude colored", "nude tones", "nude palette", "nude shade",
    "nude nail", "nude nails", "nude high heels", "nude sandals", "nude colored dress", "nude makeup", "nude pumps", "nude beige", "naked mole rat",
    "naked mole rats", "naked mole-rat", "naked eye", "naked flame", "naked truth",
    "naked lunch", "shooting star", "shooting stars", "photo shoot", "photoshoot",
    "blood moon", "blood orange", "blood oranges", "bloodhound", "blood type", "blood donation",
    "blood drive", "blood pressure", "blood cells", "murder of crows", "killer app",
    "killer heels", "killer smile", "dead sea", "dead end", "deadline", "death valley",
    "dead leaves", "day of the dead", "kill switch", "sex pistols", "sex education",
    "sexton", "sussex", "essex", "middlesex", "minor chord", "minor key", "minor league",
    "cocktail", "peacock", "hitchcock", "woodcock", "cockpit", "cockatoo", "cockatiel",
    "scunthorpe", "pussy willow", "pussycat", "shot glass", "screenshot", "gunshot wound care",
    "war paint", "star wars", "war horse", "pillow fight", "food fight", "kid goat",
    "stripped paint", "stripped down", "bare trees", "bare feet", "barefoot",
    "dead tree", "dead trees",
    "kiss of death", "death metal", "dead poets", "suicide squad", "suicide king",
    "dragon blood", "cut myself a slice", "cut myself some",
    "sangria", "cum laude", "magna cum", "blue tit", "blue tits", "coal tit", "chink in",
    "spic and span", "graphic novel", "graphic design", "graphic tee", "motion graphics",
    "king charles spaniel", "torture device", "torture museum", "blood red", "blood-red", "first blood", "bloodborne",
)
"""Removed from the text before the lexicons look at it (the rest of the prompt still counts)."""

FUZZY_STOPLIST: frozenset[str] = frozenset({
    "rated", "impale", "chins", "niger", "striping", "stripe", "pedal", "erotic", "genital",
    "orges", "porno", "tortue", "murder", "fagot", "batle", "wound", "sho", "blod",
})
"""Real words that a one-letter-dropped variant of a term would otherwise hit."""

FUZZY_TERMS: tuple[str, ...] = (
    "naked", "nudity", "topless", "porno", "hentai", "pornography", "pornographic", "blowjob",
    "masturbate", "masturbating", "orgasm", "genitals", "lolicon", "shotacon", "pedophile",
    "decapitated", "dismembered", "disembowelled", "mutilated", "beheading", "entrails",
    "undressed", "striptease", "lingerie",
)
"""Shorter terms also matched with one letter dropped (``nakd``); every flagging term of six or
more letters outside the hate list gets the same treatment automatically."""

SQUASHED_SEXUAL: tuple[str, ...] = (
    "porn", "hentai", "blowjob", "handjob", "bukkake", "gangbang", "cumshot", "masturbat",
    "xvideos", "pornhub", "onlyfans",
)
SQUASHED_MINOR: tuple[str, ...] = (
    "lolicon", "shotacon", "pedophil", "paedophil", "childporn", "kiddieporn", "underagesex",
)
"""Substrings matched with every separator and space removed (never inside an innocent word)."""

MASK_EXTRA_WORDS: tuple[str, ...] = (
    "the", "to", "on", "in", "of", "off", "all", "your", "you", "my", "her", "his", "for", "with",
    "no", "are", "and", "is", "now", "new", "ignore", "previous", "prior", "instructions", "filter",
    "filters", "safety", "content", "moderation", "guidelines", "rules", "uncensored", "developer",
    "mode", "admin", "approved", "override", "stop", "following", "restrictions", "censorship",
    "false", "true", "disable", "bypass", "forget", "turn", "nsfw", "disregard", "system",
    "jailbreak", "policy", "unrestricted", "pretend", "there", "free", "without", "checks",
)
"""Words besides the lexicon terms that a masked token may stand for (injection phrases)."""
