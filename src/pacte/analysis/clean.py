"""Boilerplate removal for already-extracted text: line-level rules in the languages the hub reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class Cleaned:
    """The cleaned text and the lines that were removed, each with the rule that removed it."""

    text: str
    removed: list[tuple[str, str]] = field(default_factory=list)


def _alt(words: str) -> str:
    return "|".join(w.strip() for w in words.split(";") if w.strip())


# Whole-line rules: the line (stripped) must match entirely.
_LOADING = re.compile(
    r"(?:" + _alt("loading;chargement( en cours)?;cargando;wird geladen;laden;загрузка;جار[يٍ] التحميل;"
                  "please wait;veuillez patienter") + r")\s*(?:\.{3}|…)?", re.IGNORECASE)
_AD = re.compile(
    r"[\[(<]?\s*(?:" + _alt("ad;ads;advert;advertisement;advertising;sponsored;sponsored content;publicité;pub;"
                            "annonce;anuncio;publicidad;werbung;anzeige;реклама;إعلان;اعلان") + r")\s*[\])>]?",
    re.IGNORECASE,
)
_BRACKETED_AD = re.compile(
    r"[\[(]\s*(?:" + _alt("ad;ads;advert;advertisement;advertising;sponsored;publicité;annonce;anuncio;"
                          "publicidad;werbung;anzeige;реклама;إعلان;اعلان;ad placeholder;ad slot") + r")\b[^\])]{0,40}[\])]",
    re.IGNORECASE,
)
_NAV_WORDS = _alt(
    "home;accueil;inicio;startseite;главная;الرئيسية;news;actualités;noticias;nachrichten;новости;أخبار;"
    "about;about us;à propos;contact;contacto;kontakt;контакты;اتصل بنا;menu;search;rechercher;buscar;suche;"
    "поиск;بحث;log in;login;sign in;se connecter;connexion;iniciar sesión;anmelden;войти;تسجيل الدخول;"
    "register;sign up;s'inscrire;registrarse;registrieren;регистрация;subscribe;s'abonner;suscribirse;"
    "abonnieren;подписаться;اشترك;skip to content;skip to main content;aller au contenu;ir al contenido;"
    "zum inhalt springen;перейти к содержанию;blog;research;products;solutions;services;support;careers;"
    "events;resources;partners;company;privacy policy;terms of use;cookie policy;sitemap;rss;share;tweet;"
    "print;email;facebook;twitter;linkedin;whatsapp;telegram;vk;reddit;x;partager;compartir;teilen;"
    "поделиться;مشاركة;imprimer;imprimir;drucken;next;previous;suivant;précédent;siguiente;anterior;weiter;"
    "zurück;далее;назад;back to top;haut de page;volver arriba;nach oben;наверх;top;close;fermer;cerrar;"
    "schließen;закрыть;إغلاق;accept;accept all;accepter;aceptar;akzeptieren;принять;قبول;more;plus;más;mehr"
)
_NAV_ITEM = re.compile(r"(?:" + _NAV_WORDS + r")", re.IGNORECASE)
_NAV_SEPARATORS = re.compile(r"\s*(?:\||›|»|>|/|•|·|–|—|::)\s*")

# A person's name: up to four words that start with a capital (or Arabic script).
_NAME = r"(?-i:(?:[A-ZÀ-ÖØ-ÞА-ЯЁ][\w'’.\-]*|[\u0600-\u06FF]+)(?:\s+(?:[A-ZÀ-ÖØ-ÞА-ЯЁ][\w'’.\-]*|[\u0600-\u06FF]+|de|van|von|der|al|el|la|le|du)){0,4})"

# Prefix rules: the line starts with the phrase and is short.
_PREFIX_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("read-also", re.compile(
        r"^(?:" + _alt(
            "read also;read more;also read;see also;related;related articles;related posts;related stories;"
            "recommended;you may also like;more on this;more from;further reading;lire aussi;à lire aussi;"
            "a lire aussi;lire la suite;voir aussi;sur le même sujet;leer también;lea también;le puede interesar;"
            "te puede interesar;noticias relacionadas;lesen sie auch;auch interessant;mehr zum thema;"
            "das könnte sie auch interessieren;читайте также;смотрите также;по теме;اقرأ أيضا;اقرأ أيضاً;"
            "إقرأ أيضا;إقرأ أيضاً;مواضيع ذات صلة;اقرأ المزيد") + r")\b\s*[:：\-–—]?",
        re.IGNORECASE)),
    ("newsletter", re.compile(
        r"^(?:.{0,40}\b(?:" + _alt(
            "newsletter;sign up for;subscribe to;abonnez-vous;inscrivez-vous;recevez notre;suscríbete;"
            "suscribete;boletín;abonnieren sie;melden sie sich;подпишитесь;рассылк;اشترك;النشرة") + r"))",
        re.IGNORECASE)),
    ("comments", re.compile(
        r"^(?:\d+\s+)?(?:" + _alt(
            "comments?;leave a comment;leave a reply;add a comment;post a comment;join the discussion;"
            "commentaires?;laisser un commentaire;réagir;comentarios?;deja un comentario;dejar un comentario;"
            "kommentare?;kommentar schreiben;комментари[йия]\\w*;оставьте комментарий;التعليقات;تعليقات;"
            "أضف تعليق;show comments;view comments;afficher les commentaires") + r")\s*(?:\(\d+\))?\s*:?$",
        re.IGNORECASE)),
    ("byline", re.compile(
        r"^(?:" + _alt(
            "by;written by;posted by;author;authors;par;écrit par;rédigé par;auteur;por;escrito por;autor;"
            "von;verfasst von;автор;авторы;بقلم;كتب;الكاتب") + r")\s*[:：]?\s+"
        + _NAME + r"(?:\s*(?:,|and|et|y|und|и|و)\s*" + _NAME + r")*"
        r"\s*(?:[|•·–—-].{0,60})?$",
        re.IGNORECASE)),
    ("share", re.compile(
        r"^(?:" + _alt("share this;share on;share article;partager (?:sur|cet article);compartir en;"
                       "teilen auf;artikel teilen;поделиться в;شارك") + r")\b",
        re.IGNORECASE)),
    ("cookies", re.compile(
        r"^.{0,60}\b(?:" + _alt("cookies?;témoins de connexion;galletas") + r")\b.{0,160}"
        r"\b(?:accept|agree|consent|accepter|aceptar|akzeptieren|zustimmen|согласны|принять|settings|"
        r"paramètres|configuración|einstellungen|policy|politique|política|richtlinie)\b",
        re.IGNORECASE)),
    ("copyright", re.compile(
        r"^(?:©|\(c\)|copyright\b|tous droits réservés|todos los derechos reservados|alle rechte vorbehalten|"
        r"все права защищены|جميع الحقوق محفوظة|all rights reserved)",
        re.IGNORECASE)),
    ("reading-time", re.compile(
        r"^(?:.{0,60}\b\d+\s*(?:min(?:ute)?s?|minutes? de lecture|min de lectura|min\.? lesezeit|мин(?:ут[аы]?)?)"
        r"\b.{0,20}(?:read|lecture|lectura|lesezeit|чтения)?\.?)$",
        re.IGNORECASE)),
    ("tags", re.compile(r"^(?:tags?|mots-clés|étiquettes|etiquetas|schlagwörter|теги|الوسوم)\s*[:：]", re.IGNORECASE)),
    ("wiki", re.compile(
        r"^(?:" + _alt(
            "un article de wikipédia, l'encyclopédie libre;from wikipedia, the free encyclopedia;"
            "de wikipedia, la enciclopedia libre;aus wikipedia, der freien enzyklopädie;"
            "материал из википедии — свободной энциклопедии;من ويكيبيديا، الموسوعة الحرة") + r")\.?$"
        r"|^\[\s*(?:modifier|edit|editar|bearbeiten|править|عدل|تعديل)[^\]]{0,60}\]$"
        r"|^\((?:redirigé depuis|redirected from|redirigido desde|weitergeleitet von|перенаправлено с|"
        r"تم التحويل من)\s[^)]{1,80}\)$",
        re.IGNORECASE)),
    ("blog-widget", re.compile(
        r"^(?:" + _alt(
            "search this blog;powered by blogger;powered by wordpress;blog archive;archives;categories;labels;"
            "recent posts;popular posts;older posts;newer posts;subscribe to: posts \\(atom\\);"
            "showing posts with label .{1,60}\\. show all posts;rechercher dans ce blog;archives du blog;"
            "libellés;buscar este blog;archivo del blog;etiquetas;diesen blog durchsuchen;blog-archiv;"
            "поиск по этому блогу;архив блога;ярлыки") + r")\.?$",
        re.IGNORECASE)),
    ("teaser", re.compile(r"^(?:>>>|→|►|▶)\s*\S.{0,150}$")),
    ("age-rating", re.compile(r"^(?:AMP\s*)?\d{1,2}\+$", re.IGNORECASE)),
    ("source-credit", re.compile(
        r"^(?:source|sources|fuente|quelle|источник|المصدر)\s*:(?!.*(?:https?://|hxxp|www\.)).{3,200}$",
        re.IGNORECASE)),
    ("rubric", re.compile(
        r"^(?:" + _alt(
            "politics;politique;política;politik;политика;سياسة;world;monde;mundo;welt;в мире;العالم;"
            "business;économie;economía;wirtschaft;экономика;اقتصاد;technology;tech;technologie;tecnología;"
            "технологии;تكنولوجيا;society;société;sociedad;gesellschaft;общество;مجتمع;incidents;"
            "происшествия;скандалы и происшествия;faits divers;sucesos;cybersecurity;cybersécurité;"
            "ciberseguridad;cybersicherheit;кибербезопасность;الأمن السيبراني;international;internacional;"
            "international news;breaking news;dernières nouvelles;última hora;eilmeldung;срочно;عاجل")
        + r")$",
        re.IGNORECASE)),
    ("image-credit", re.compile(
        r"^(?:image|imagen|bild|изображение|صورة|photo|foto|фото)$"
        r"|^(?:image|photo|picture|crédit photo|crédits photo|foto|bild|фото|صورة|credit|crédito)\s*"
        r"(?:credit)?\s*[:：].{0,120}$"
        r"|^.{0,200}(?:\((?:symbolbild|archivbild|illustration|image d'illustration|imagen de archivo)\)"
        r"|[-–—]\s*(?:keystone|dpa|afp|reuters|ap|epa|getty images|imago|shutterstock|pixabay|unsplash)"
        r"|(?:\(c\)|©)\s*[\w .\-]{2,40}(?:/[\w .\-]{2,40})+)\s*$",
        re.IGNORECASE)),
    ("published-stamp", re.compile(
        r"^(?:published|updated|last updated|publié le|mis à jour|publicado|actualizado|veröffentlicht|"
        r"aktualisiert|опубликовано|обновлено|نشر في|تاريخ النشر)\b.{0,60}$",
        re.IGNORECASE)),
)
# All prefix rules in one pattern, case-insensitive (a superset of each): a line it does not match matches none
# of them, which one search tells for the body lines that make most of a text (x3 faster than twenty searches).
_ANY_PREFIX_RULE = re.compile("|".join(f"(?:{rx.pattern})" for _, rx in _PREFIX_RULES), re.IGNORECASE)
_HAS_LETTER = re.compile(r"[^\W\d_]")
_LIST_BREAK = re.compile(r"[.!?:;»\"”]$")


def _is_navigation(line: str) -> bool:
    """Tell whether a line is a row of menu or breadcrumb items."""
    parts = [p for p in _NAV_SEPARATORS.split(line) if p.strip()]
    if len(parts) >= 3 and all(len(p) <= 30 and not _LIST_BREAK.search(p) for p in parts):
        nav_hits = sum(1 for p in parts if _NAV_ITEM.fullmatch(p.strip()))
        return nav_hits >= 2 or (_NAV_SEPARATORS.search(line) is not None and len(line) < 120 and nav_hits >= 1)
    words = line.split()
    if 3 <= len(words) <= 12 and len(line) < 100 and all(_NAV_ITEM.fullmatch(w.strip(",;")) for w in words):
        return True
    return _NAV_ITEM.fullmatch(line) is not None


def line_rule(line: str) -> str | None:
    """Return the name of the boilerplate rule that matches one stripped line, or None for body text."""
    if re.fullmatch(r"[/|»›•·>\\—–-]{1,2}", line):
        return "separator"  # a lone breadcrumb or menu separator
    if not line or len(line) > 300 or not _HAS_LETTER.search(line):
        return None
    if _LOADING.fullmatch(line):
        return "loading"
    if _AD.fullmatch(line) or _BRACKETED_AD.fullmatch(line):
        return "ad-placeholder"
    if len(line) <= 160 and _is_navigation(line):
        return "navigation"
    if _ANY_PREFIX_RULE.search(line) is None:
        return None
    for name, rx in _PREFIX_RULES:
        limit = 300 if name in ("cookies", "newsletter") else 160
        if len(line) <= limit and rx.search(line):
            return name
    return None


def clean_text(text: str) -> Cleaned:
    """Remove boilerplate lines and inline ad placeholders, keeping every line of body text."""
    out: list[str] = []
    removed: list[tuple[str, str]] = []
    in_related = False
    for raw in text.split("\n"):
        line = raw.strip()
        rule = line_rule(line)
        if rule is None and in_related:
            # Items of a "read also" list: short title-like lines without sentence punctuation.
            if line and len(line) <= 140 and not _LIST_BREAK.search(line) and len(line.split()) <= 18:
                rule = "read-also"
            elif line:
                in_related = False
        if rule is not None:
            removed.append((rule, line))
            in_related = rule == "read-also" or (in_related and rule is not None and line != "")
            continue
        if not line:
            out.append("")
            continue
        stripped = _BRACKETED_AD.sub("", raw)
        if stripped != raw:
            removed.append(("ad-placeholder", raw.strip()))
        out.append(re.sub(r"[ \t]{2,}", " ", stripped).rstrip())
    joined = re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()
    return Cleaned(joined, removed)
