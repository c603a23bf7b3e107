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
    r"\b(?:developer|dev|debug|god|admin|unrestricted|uncensored|unfiltered|unsafe|jailbreak|dan)\s+mode\b",
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
    r"\b(?:sin|sans|ohne|sem|senza)\s+(?:censura|censure|zensur|filtro|filtre|filter|filtros|restricciones|restrictions)\b",
    # ru zh ja (written already folded: "й" -> "и", as fold() does)
    r"(?:игнорируи|игнорировать|проигнорируи|забудь)\s+(?:\S+\s+){0,3}?(?:инструкц|правил|ограничен|фильтр)",
    r"(?:отключи|отключить|выключи|обоиди|обоити)\s+(?:\S+\s+){0,2}?(?:фильтр|цензур|модерац|ограничен)",
    r"без\s+(?:цензуры|фильтров|фильтра|ограничении)",
    r"(?:忽略|无视|忘记|忽视)(?:之前|以上|上面|所有|先前|前面)?(?:的)?(?:所有)?(?:指令|指示|规则|限制|说明)",
    r"(?:关闭|绕过|禁用|取消)(?:安全|内容)?(?:过滤|审查|限制|检查)",
    r"(?:无审查|无过滤|无限制模式|不受限制)",
    r"(?:以前|前|上記|これまで)の(?:指示|命令|ルール)を?無視",
    r"(?:フィルター|フィルタ|検閲|安全機能|制限)を?(?:無効|解除|オフ|回避|外)",
    r"(?:検閲なし|無検閲|制限なし)",
)
_DETECTOR = re.compile("|".join(f"(?:{p})" for p in _PATTERNS))
# The same patterns with doubled letters squeezed ("off" -> "of"), run over the ``dedup`` view so
# "offffff" and "approoved" are caught.
_DETECTOR_DEDUP = re.compile("|".join("(?:" + re.sub(r"([a-z])\1", r"\1", p) + ")" for p in _PATTERNS))


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
