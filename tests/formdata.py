"""What a browser would post for a page's form: inputs, checked boxes, selected options, textareas."""
from html.parser import HTMLParser


class FormData(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False
        self._textarea: str | None = None
        self._text = ""
        self._option: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.pairs.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button"):
                self.pairs.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._first_option, self._selected = a.get("name"), None, False
        elif tag == "option" and self._select:
            self._option = a
            self._text = ""
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""

    def handle_data(self, data):
        if self._textarea is not None or self._option is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None:
            value = self._option.get("value", self._text.strip())
            if self._first_option is None:
                self._first_option = value
            if "selected" in self._option:
                self.pairs.append((self._select, value))
                self._selected = True
            self._option = None
        elif tag == "select" and self._select:
            if not self._selected and self._first_option is not None:
                self.pairs.append((self._select, self._first_option))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.pairs.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def form_data(html: str, form_index: int = -1) -> list[tuple[str, str]]:
    """The fields of the page's `form_index`-th POST form (the last by default)."""
    import re

    forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, flags=re.S)
    parser = FormData()
    parser.feed(forms[form_index])
    return parser.pairs
