"""The injection detector: instructions in a prompt that try to override or switch off safety.

Image prompts have no business addressing the moderation system, so the detector looks for
that and nothing else: an override verb aimed at a safety noun or at earlier instructions,
mode switches (``developer mode``, ``jailbreak``), parameter-style toggles (``nsfw=true``,
``--no-filter``), claimed authority (``approved by the admin``) and the same in es, fr, de, pt,
it, ru, zh, ja. Ordinary words like "ignore the background" or "a rebel who breaks the rules"
do not match: the object must be the filter, the policy or the instructions.
"""

from __future__ import annotations

import re

from pixelmill.safety.normalize import Normalized
from pixelmill.safety.verdict import INJECTION, LAYER_INJECTION, Verdict

_VERB = (
    r"(?:ignore|ignoring|disregard|forget|override|overriding|bypass|bypassing|disable|disabling|"
    r"deactivate|turn\s+off|switch\s+off|shut\s+off|skip|circumvent|evade|get\s+around|"
    r"work\s+around|remove|lift|suspend|drop|neglect|omit|stop\s+following|don'?t\s+follow|"
    r"do\s+not\s+follow|no\s+longer\s+follow|never\s+mind|forget\s+about|pay\s+no\s+attention\s+to)"
)
_SAFETY_NOUN = (
    r"(?:safety|safe\s*search|nsfw\s+(?:filter|check|checks|block)|content\s+(?:filter|policy|"
    r"policies|rules|guidelines|moderation|restrictions|checks)|filters?|filtering|moderation|"
    r"moderator|censorship|censor|guardrails?|safeguards?|restrictions|guidelines|policy|"
    r"policies|usage\s+rules|terms\s+of\s+service)"
)
_EARLIER = (
    r"(?:previous|prior|above|earlier|preceding|original|system|initial|your|"
    r"all\s+(?:the\s+)?(?:previous|prior|above))"
)
_INSTRUCTIONS = (
    r"(?:instructions?|prompts?|rules|directives|constraints|guidelines|programming|training|orders)"
)

_PATTERNS: tuple[str, ...] = (
    rf"\b{_VERB}\b(?:\s+\S+){{0,4}}?\s+{_SAFETY_NOUN}\b",
    rf"\b{_VERB}\s+(?:all\s+|any\s+|every\s+|each\s+|the\s+|of\s+)*{_EARLIER}\b(?:\s+\S+){{0,2}}?\s+"
    rf"{_INSTRUCTIONS}\b",
    # "disregard everything you were told before"
    rf"\b{_VERB}\s+(?:everything|anything|all|whatever)\s+(?:you\s+(?:were|have\s+been|got)\s+"
    r"(?:told|given|instructed)|(?:said|written|stated)\s+(?:before|above|earlier))",
    r"\b(?:root|admin|superuser|sudo|developer|god)\s+(?:access|privileges?|rights|mode)\s+"
    r"(?:granted|enabled|unlocked|activated|on)\b",
    # the place word after the noun: "forget the rules above", "ignore all instructions before this"
    rf"\b{_VERB}\s+(?:all\s+|any\s+|the\s+|these\s+|those\s+|of\s+)*{_INSTRUCTIONS}\s+"
    r"(?:above|before|earlier|so\s+far|given|you\s+(?:were|have\s+been|got)\s+given|you\s+follow|"
    r"you\s+were\s+told)\b",
    r"\b(?:nsfw|explicit|adult|uncensored)\s+(?:content\s+|output\s+|images?\s+)?"
    r"(?:is\s+|are\s+)?(?:allowed|enabled|permitted|unlocked|approved)\b",
    r"\b(?:developer|dev|debug|god|admin|unrestricted|uncensored|unfiltered|unsafe|jailbreak|dan)\s+mode\b"
    r"(?!\s+(?:toggle|settings?|menu|options?|screen|switch|button|icon)\b)",
    r"\bjail\s*-?\s*br(?:ea|o)k(?:ing|en|e|s)?\b",
    r"\bdo\s+anything\s+now\b",
    # "you have no restrictions now", "there are no filters anymore"
    r"\byou\s+(?:now\s+)?(?:have|got)\s+no\s+(?:more\s+)?(?:restrictions|rules|filters?|limits|"
    r"guidelines|guardrails|censorship|content\s+policy)\b",
    r"\bno\s+(?:more\s+)?(?:restrictions|filters?|guardrails|censorship|moderation)\s+"
    r"(?:now|anymore|any\s+more|apply|from\s+now\s+on)\b",
    # the object between the verb and its particle: "turn the content filter off"
    r"\b(?:turn|switch|shut|toggle)\s+(?:the\s+|your\s+|all\s+|any\s+)*(?:safety\s+|nsfw\s+|content\s+)?"
    r"(?:filters?|moderation|censorship|safety|safe\s*search|guardrails?)\s+off\b",
    r"\buncensored\b",
    r"\bunfiltered\s+(?:output|version|ai|model|response|generation)\b",
    r"\b(?:without|with\s+no|no)\s+(?:any\s+)?(?:safety|content|nsfw)\s+(?:filters?|checks?|restrictions?|limits?)\b",
    r"\b(?:without|with\s+no|free\s+of)\s+(?:any\s+)?(?:censorship|moderation|guardrails)\b",
    r"\bpretend\s+(?:that\s+)?(?:there\s+(?:are|is)\s+no|you\s+(?:have|are)\s+no|you\s+are\s+not\s+bound)\b",
    r"\byou\s+are\s+(?:now\s+)?(?:free|not\s+bound|no\s+longer\s+bound|unrestricted|an?\s+unrestricted)\b",
    r"\bact\s+as\s+(?:an?\s+)?(?:unrestricted|uncensored|unfiltered|jailbroken)\b",
    r"\b(?:approved|authorized|authorised|allowed|permitted|whitelisted)\s+by\s+(?:the\s+)?"
    r"(?:admin|administrator|developers?|moderators?|safety\s+team|trust\s+and\s+safety|openai|staff)\b",
    r"\b(?:admin|administrator|system|developer|moderator)\s+override\b",
    r"(?:^|\s)[\[<{(]\s*/?\s*(?:system|sys|admin|instructions?)\s*[\]>})]",
    r"(?:^|\s)(?:system|admin)\s*:\s*(?:allow|disable|ignore|override|nsfw|safety|you)",
    r"\bnew\s+instructions?\s*:",
    r"\b(?:nsfw|unsafe|explicit|uncensored|adult_?content)\s*[:=]\s*(?:true|on|yes|1|enabled?|allow(?:ed)?)\b",
    r"\b(?:safety|safe_?mode|safe_?search|filter|filters|moderation|censorship|censor|nsfw_?filter|"
    r"safety_?checker|content_?filter)\s*[:=]\s*(?:false|off|no|0|none|disabled?|null)\b",
    r"--\s*nsfw\w*|--\s*(?:no-?safety|no-?filter|nsfw|unsafe|uncensored|unfiltered|al+o?w-?nsfw|safety\s+off|"
    r"safety\s+false|disable-?safety)\b",
    r"\bsafety[_\s-]*checker\s*=\s*none\b",
    # es fr de pt it
    r"\b(?:ignora|ignore|ignorar|ignorez|ignorer|ignoriere|ignorieren|ignori)\s+(?:\S+\s+){0,3}?"
    r"(?:instrucciones|instructions|anweisungen|instrucoes|istruzioni|reglas|regles|regeln|regras|regole)\b",
    r"\b(?:desactiva|desactivar|desactive[rz]?|deaktiviere|deaktivieren|desative|desativar|disattiva|"
    r"disattivare|quita|elimina|entferne|schalte)\s+(?:\S+\s+){0,2}?"
    r"(?:filtro|filtre|filter|filtros|censura|censure|zensur|sicherheitsfilter|moderacion|moderation)\b",
    # "sin filtros", "photo sans filtre" are photography ("no filter"): only censorship counts
    r"\b(?:sin|sans|ohne|sem|senza|bez|zonder)\s+(?:aucune\s+|jede\s+|ninguna\s+|nenhuma\s+|alcuna\s+)?"
    r"(?:censura|censure|zensur|cenzury|censuur|restricciones|restrictions|restricoes|restrizioni|"
    r"einschrankungen|ograniczen|beperkingen|limites|moderacion|moderation|moderacao|moderazione)\b",
    # ru zh ja (written already folded: "й" -> "и", as fold() does)
    r"(?:игнорируи|игнорировать|проигнорируи|забудь)\s+(?:\S+\s+){0,3}?(?:инструкц|правил|ограничен|фильтр)",
    r"(?:отключи|отключить|выключи|обоиди|обоити)\s+(?:\S+\s+){0,2}?(?:фильтр|цензур|модерац|ограничен)",
    r"без\s+(?:цензуры|ограничении)",
    r"(?:忽略|无视|忘记|忽视)(?:之前|以上|上面|所有|先前|前面)?(?:的)?(?:所有)?(?:指令|指示|规则|限制|说明)",
    r"(?:关闭|绕过|禁用|取消)(?:安全|内容)?(?:过滤|审查|限制|检查)",
    r"(?:无审查|无过滤|无限制模式|不受限制)",
    r"(?:以前|前|上記|これまで)の(?:指示|命令|ルール)を?無視",
    r"(?:フィルター|フィルタ|検閲|安全機能|制限)を?(?:無効|解除|オフ|回避|外)",
    r"(?:検閲なし|無検閲|制限なし)",
)
# The safety system named as a thing (not a photo filter): what the state and addressing rules
# below talk about.
_SYSTEM = (
    r"(?:(?:the\s+|your\s+|all\s+|any\s+|my\s+)*(?:safety|content|nsfw|moderation)\s*[-_]?\s*"
    r"(?:filters?|filtering|checks?|checker|system|model|module|classifier|rules|policy|policies|"
    r"level|warnings|guidelines|restrictions|review|bot|mode|instructions|settings)"
    r"|safe\s*[-_]?\s*(?:mode|search)|moderation|censorship|guardrails?|content\s+classifier|"
    r"the\s+(?:filter|classifier|moderator)|your\s+(?:filter|guidelines|rules)|"
    r"(?:all\s+)?(?:prior|previous)\s+(?:restrictions|rules|safety\s+instructions)|ethics\s+module)"
)
_OFF_STATE = (
    r"(?:(?:is|are|was|were|has\s+been|have\s+been|been|now|is\s+now|are\s+now)\s+)*"
    r"(?:disabled|deactivated|turned\s+off|switched\s+off|off|removed|lifted|suspended|void|"
    r"bypassed|unloaded|exempt|not\s+needed|irrelevant|never\s+installed|unnecessary|"
    r"(?:does|do|did)\s*(?:n'?t|not)\s+(?:apply|exist|matter)|not\s+apply|"
    r"updated\s+to\s+allow|[:=]\s*(?:off|none|disabled|false|null|0)\b|"
    r"(?:can|could|should|may|will)\s+be\s+(?:skipped|ignored|bypassed|disabled|turned\s+off|removed|"
    r"switched\s+off))"
)
_EXTRA_PATTERNS: tuple[str, ...] = (
    # state of the safety system: "moderation is disabled", "content policy suspended"
    rf"\b{_SYSTEM}\s+{_OFF_STATE}",
    r"\b(?:filters?|restrictions|rules|policy|guidelines)\s+(?:is\s+|are\s+)?(?:off|lifted|void|suspended)\b"
    r"(?!\s+(?:the|a|an)\b)",
    r"\b(?:the\s+)?(?:filter|rules|policy|restrictions|guidelines)\s+(?:does|do)\s*(?:n'?t|not)\s+apply\b",
    # addressing it: "kill the safety filter", "set moderation to off", "relax your content rules"
    rf"\b(?:kill|suppress|relax|loosen|mute|silence|pause|unload|shut\s+down|stop|skip|skipping|"
    rf"switch|turn|set|deactivate|disable|dodge|avoid|fool|trick)\s+{_SYSTEM}\b",
    rf"\bset\s+{_SYSTEM}\s+to\s+(?:zero|0|off|none|false|disabled|minimum|lowest)\b",
    rf"\b(?:switch|turn|shut)\s+{_SYSTEM}\s+off\b",
    r"\b(?:do\s+not|don'?t|please\s+(?:do\s+)?not|never|stop|not)\s+(?:filter|filtering|censor|censoring|"
    r"moderate|moderating)\s+(?:this|it|my|anything|me|the\s+(?:prompt|request|image|output))\b|"
    r"\b(?:stop|quit)\s+(?:filtering|censoring|moderating)\b",
    r"\b(?:do\s+not|don'?t)\s+apply\s+(?:any\s+)?(?:filters?|safety|moderation|checks)\b",
    r"\b(?:skip|skipping|bypass|avoid)\s+(?:the\s+|all\s+|any\s+)?(?:checks|review|moderation|filtering|"
    r"verification|safety|classifier)\b",
    r"\b(?:no|without)\s+(?:need\s+for\s+)?(?:content\s+)?(?:moderation|filtering|censorship)\b",
    r"\bmoderation\s+(?:not\s+needed|exempt\w*|off)\b|\bmoderation\s+exemption\b",
    r"\b(?:zero|no)\s+censorship\b|\bfilterless\b|\bno-?filter\s+mode\b",
    # verdicts: "mark this prompt as safe", "return verdict=allowed", "must output benign"
    r"\b(?:mark|classify|label|flag|tag|treat|rate|consider)\s+(?:this|the|my)\s+(?:prompt|request|image|"
    r"input|query|generation)\s+(?:as\s+)?(?:safe|benign|allowed|clean|sfw|harmless|fine)\b",
    r"\bverdict\s*[:=]\s*\W?(?:allow\w*|safe|benign|pass)",
    r"\b(?:must|should|will|always)\s+(?:output|return|say|answer|report)\s+(?:\w+\s+)?(?:benign|safe|allowed)\b",
    r"\bwhitelist\s+(?:this|my|the)\b",
    r"\b(?:tell|to)\s+the\s+(?:safety|moderation|content)\s+(?:model|system|bot|filter|classifier)\b",
    r"\b(?:dear|hey|hi|note\s+to\s+the)\s+(?:safety|moderation|content)?\s*(?:bot|system|filter|classifier|moderator)\b",
    r"\bpretend\s+(?:that\s+)?(?:the\s+)?(?:safety|content|moderation|filter)",
    # roles: "act as dan", "you are now an ai without guidelines", "stay in character as the unrestricted"
    r"\b(?:act|acting|roleplay|role-?play|play\s+the\s+role|simulate|become|stay\s+in\s+character)\s+"
    r"(?:as\s+|like\s+|of\s+)?(?:dan|an?\s+\w+\s+(?:without|with\s+no|whose|that\s+was\s+never)|"
    r"(?:the\s+|an?\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken|evil)|the\s+content\s+filter|"
    r"a\s+version\s+of\s+yourself)",
    r"\b(?:ai|model|engine|generator|version|bot|assistant|modell|modelo|modele|modello|model)\s+"
    r"(?:\w+\s+)?(?:without|with\s+no|free\s+of|that\s+has\s+no|sans|sin|sem|senza|ohne|zonder|bez)\s+"
    r"(?:any\s+|aucune\s+|ninguna\s+|irgendwelche\s+)?(?:guidelines|rules|restrictions?|filters?|limits|"
    r"ethics|safety|censorship|restricciones|restricoes|restrizioni|einschrankungen|beperkingen|ograniczen)",
    r"\b(?:unrestricted|unfiltered|uncensored)\s+(?:output|generator|engine|image\s+engine|model|ai|"
    r"version|generation|mode|image\s+model)\b",
    r"\b(?:no|without)\s+(?:ethics|safety)\s+(?:module|training|layer)\b|\bnever\s+given\s+safety\b",
    r"\b(?:filters?|safety)\s+(?:were|was)\s+(?:removed|turned\s+off|disabled)\b",
    r"\b(?:stan|evil|maintenance|god|unlocked|no-?filter)\s+mode\b",
    # claimed authority: "i authorize unrestricted output", "internal test account"
    r"\bi\s+(?:hereby\s+)?(?:authori[sz]e|approve|permit)\b|\bauthori[sz]ed\s+red\s*team\w*\b",
    r"\b(?:test|internal|premium|admin|staff)\s+(?:account|user)s?\b.{0,30}\b(?:exempt|no\s+moderation|"
    r"moderation|rules|policy|filter)",
    r"\b(?:rules|policy|filters?|guidelines|restrictions)\s+(?:don'?t|do\s+not|doesn'?t|does\s+not|no\s+longer)\s+"
    r"apply\b",
    r"\bnew\s+rules?\s*:",
    r"\b(?:guidelines|rules|policy|policies)\s+(?:have|has)\s+been\s+(?:updated|changed)\b",
    r"\byou\s+may\s+(?:now\s+)?generate\s+anything\b|\ballow\s+everything\b",
    r"[\[<{(|]\s*\|?\s*(?:system|sistema|systeme|система|developer\s+note)\s*\|?\s*[\]>})|]|"
    r"\bsystem\s+(?:prompt|message)\s*:|\bsystem\s*>",
    r"\b(?:act|operate|respond|generate|draw|proceed|work|render)\s+(?:as\s+if\s+)?(?:without|with\s+no|"
    r"ignoring)\s+(?:any\s+|the\s+|your\s+)?(?:content\s+polic\w+|safety|filters?|moderation|rules|"
    r"restrictions|guidelines|censorship)\b",
    r"(?:^|[(\[{,.;:|>/]\s*)safety\s+(?:is\s+)?(?:off|disabled|deactivated)\b|\bsafety\s+(?:disabled|"
    r"deactivated)\b|\bsafety\s+off\s+for\b",
    r"\bif\s+there\s+(?:were|was)\s+no\s+(?:filters?|moderation|safety|rules|censorship)\b",
    r"\bno\s+filters?\W{0,2}\s+no\s+(?:rules|restrictions|limits|censorship|moderation)\b",
    r"\b(?:moderation|filter|safety|censorship)\s+bypass\b",
    r"\bjai[il]\s*-?\s*br(?:ea|o)k",
    r"\bignor\w*\s+(?:ur|your|yo)\s+(?:\w+\s+)?rul(?:es|ez|z)\b",
    r"\bdisab[el]{2}\s+(?:the\s+|your\s+)?(?:filtr|fliter|safty|saftey)\b|\buncenser\w*",
    # parameters: {"safe_mode": false}, config.safety.enabled=false, allow_explicit=yes, --mod 0
    r"\b(?:safe_?mode|safety\w*|moderation|content_?filter\w*|censor\w*|nsfw_?filter|policy|"
    r"enforce|filters?|mode_securise|modo_seguro)\W{0,3}\s*[:=]\s*\W{0,2}\s*(?:(?:false|off|0|none|null|"
    r"disabled)\b|\[\s*\])",
    r"\b(?:safety|moderation|content_?policy|filter)\.[\w.]*(?:enabled|on|active)\s*=\s*(?:false|0|off)\b",
    r"\b(?:enable|use)_?safety_?checker\s*=\s*(?:false|0|off|none)\b",
    r"\ballow_?\w*(?:explicit|nsfw|adult|gore|unsafe)\w*\s*[:=]\s*(?:yes|true|1|on)\b",
    r"\bnsfw_?\w+\s*[:=]\s*(?:1|true|yes|on)\b",
    r"--\s*(?:moderation|mod|safe|safety|policy|filter|censor|censorship|zensur|checks?)\s*[= ]\s*"
    r"(?:none|off|false|0|aus|no|disabled|null)\b",
    r"--\s*(?:no|bypass|skip|disable)-(?:censor\w*|moderation|checks?|filters?|safety\w*|policy)\b",
    r"--\s*mode\s+(?:unrestricted|uncensored|unfiltered|nsfw|unsafe)\b",
    r"\b(?:disable|bypass|skip|no|turn_?off)[-_](?:safety\w*|filters?|moderation|censor\w*|checks?|"
    r"nsfw_?filter)\b",
    r"\b(?:nsfw_?filter|moderation|censorship|safety_?checker|content_?filter|safe_?mode)\s+(?:off|disabled|"
    r"false|none)\b",
    # es fr de pt it ru nl tr pl: developer mode, moderation off, skip the checks, the filter does not apply
    r"\b(?:modo|mode|modalita|modus|modu|tryb)\s+(?:desarrollador|developpeur|desenvolvedor|sviluppatore|"
    r"gelistirici|deweloperski)\b|\b(?:entwickler|ontwikkelaars|gelistirici)\s*-?\s*modus?u?\b|"
    r"\bgelistirici\s+modu\b|режим\w*\s+разработчика",
    r"\b(?:moderacion|moderation|moderacao|moderazione|moderatie|moderasyon|moderacja|filtro|filtre|filter|"
    r"zensur|censura)\s+(?:desactivad\w*|desactive\w*|aus|desligad\w*|spent\w*|uit|kapal\w*|wylaczon\w*|"
    r"disattivat\w*|deaktiviert)\b",
    r"\b(?:salta|saute[sz]?|uberspring\w*|pule|pula|salta|sla\s+over|pomin|atla)\s+(?:la\s+|les\s+|die\s+|"
    r"as\s+|os\s+|i\s+|de\s+)?(?:moderacion|moderation|verifications|verificacoes|prufungen|controlli|"
    r"controles|kontrole|controles)\b",
    r"\b(?:el|le|o|il|der|de)\s+(?:filtro|filtre|filter)\s+(?:no|ne|nao|non|gilt|geldt)\s+(?:se\s+)?"
    r"(?:aplica|s'applique|applique|vale|nicht|niet)",
    r"\bunzensiert\w*|\bongecensureerd\w*|\bnon\s+censure\w*|\bsansursuz\b|\bbez\s+cenzury\b",
    r"\b(?:ignoriere|ignorier|negeer|zignoruj|yok\s+say)\s+(?:\S+\s+){0,2}?\w*(?:regeln|regels|zasady|"
    r"kurallar\w*|anweisungen|instructies)\b|\w*kurallarini\s+yok\s+say",
    r"\b(?:schalte|zet|wylacz|kapat)\s+(?:\S+\s+){0,3}?\w*(?:filter|filtr|filtresini)\w*\b|"
    r"\w*filtresini\s+kapat",
    r"\bdu\s+bist\s+jetzt\s+ein\s+modell|\bje\s+bent\s+nu\s+een\s+model|\bjestes\s+teraz\s+modelem|"
    r"\btu\s+es\s+maintenant\s+un\s+modele|\bvoce\s+agora\s+e\s+um\s+modelo|\bora\s+sei\s+un\s+modello|"
    r"kisitlamasi\s+olmayan",
    r"модерация\s+(?:выключена|отключена)|фильтр\s+(?:отключ|выключ)|пропусти\s+проверк",
    # zh ja ko
    r"(?:忽略|无视|忽视)(?:安全|内容)?(?:规则|限制)|没有(?:任何)?限制的模型|开发者模式|(?:关闭|跳过)(?:审核|检查)|审核\s*=\s*关闭",
    r"(?:安全|コンテンツ)?ルールを?無視|無修正|制限のない|開発者モード|モデレーション(?:を)?無効|チェックを飛ばし|"
    r"フィルターは(?:私には)?適用されない",
    r"안전\s*규칙을\s*무시|필터를\s*꺼|검열\s*없는|제한\s*없는|개발자\s*모드|검열\s*끄기",
)
_BASE_PATTERNS = frozenset(_PATTERNS)
_PATTERNS = _PATTERNS + _EXTRA_PATTERNS
_DETECTOR = re.compile("|".join(f"(?:{p})" for p in _PATTERNS))
# The same patterns with doubled letters squeezed ("off" -> "of"), run over the ``dedup`` view so
# "offffff" and "approoved" are caught.
# Patterns with a bare "off" stay out: squeezed, it would read "of" ("rules of thirds").
_DETECTOR_DEDUP = re.compile(
    "|".join(
        "(?:" + re.sub(r"([a-z])\1", r"\1", p) + ")"
        for p in _PATTERNS
        if p in _BASE_PATTERNS or "off" not in p
    )
)


# Over the ``squashed`` view (letters only, no spaces): spaced-out letters lose their word
# boundaries ("i g n o r e a l l p r e v i o u s i.n.s.t..." glues to "previousinstructions"), so
# these long, unambiguous sequences are matched with no boundaries at all.
_SQUASHED = re.compile(
    r"(?:ignore|disregard|forget|override|bypass)(?:all|any|every|the|of|your)*"
    r"(?:previous|prior|above|earlier|preceding|original|system|initial)"
    r"(?:instructions?|prompts?|rules|directives|guidelines)"
    r"|(?:ignore|disregard|forget)(?:all|any|the|these|your)*(?:rules|instructions?|guidelines)"
    r"(?:above|before|sofar|youweregiven|youhavebeengiven|yougot)"
    r"|jailbr(?:ea|o)k"
    r"|(?:disable|bypass|turnoff|switchoff|deactivate)(?:the|your|all|any)*(?:safety|moderation|censorship)"
    r"|(?:disable|bypass|turnoff|switchoff|deactivate)(?:the|your|all|any)*(?:safety|content|nsfw)"
    r"(?:filters?|checker|moderation|policy)"
)


def detect(norm: Normalized) -> Verdict | None:
    """A blocking ``injection`` verdict if any view of the prompt addresses the safety system."""
    for detector, texts in (
        (_DETECTOR, (norm.folded, norm.latin, *norm.glued)),
        (_DETECTOR_DEDUP, (norm.dedup,)),
    ):
        for text in texts:
            m = detector.search(text)
            if m:
                return Verdict.block(
                    INJECTION, 1.0, LAYER_INJECTION, f"override instruction {m.group(0).strip()!r}"
                )
    for text in (norm.squashed, re.sub(r"([a-z])\1+", r"\1", norm.squashed)):
        m = _SQUASHED.search(text)
        if m:
            return Verdict.block(INJECTION, 1.0, LAYER_INJECTION, f"override instruction {m.group(0)!r}")
    return None
