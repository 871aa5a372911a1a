"""Safe XML for adapters: parsing that refuses DTDs and entities, located errors.

National XML formats change namespace versions between releases (EEC
``urn:EEC:M:SimpleDataObjects:v0.4.10`` becomes ``v0.4.11``), so readers here
match elements by *local name* and ignore namespaces.

Every parse goes through :func:`parse_xml`, which:

- refuses a document type declaration outright (no DTD, so no external
  entity, no entity expansion, no "billion laughs"), before and after parsing;
- never touches the network and never resolves an entity;
- checks the bytes against the encoding the document declares, and says
  where the first bad byte is (Windows-1251 declared as UTF-8, typically);
- turns every syntax error into an :class:`AdapterError` with line, column
  and the parser's words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree
from tamga.adapters.sdk.text import decode_text
from tamga.errors import AdapterError

__all__ = [
    "Element",
    "children",
    "find",
    "find_all",
    "leaves",
    "local",
    "parse_xml",
    "serialize",
    "sub",
    "text",
    "where",
    "xpath_of",
]

Element = etree._Element

_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        recover=False,
    )


def parse_xml(data: bytes, *, adapter: str = "", source: str = "") -> Element:
    """Parse a national XML file and return its root element.

    Raises:
        AdapterError: not well-formed, wrongly encoded, or carrying a DTD.
    """
    file = {"file": source} if source else {}
    if data.startswith(_UTF16_BOMS):
        raise AdapterError("UTF-16 XML is not accepted; save the file as UTF-8", adapter=adapter, location=file)
    m = _DECLARATION.match(data[:512])
    declared = m.group(1).decode("ascii") if m else "utf-8"
    # Decoding the whole file first gives a located error, with a hint, for a
    # file whose bytes are not in the encoding it declares.
    decode_text(data, declared, adapter=adapter, source=source)
    dtd = _DOCTYPE.search(data)
    if dtd:
        line = data.count(b"\n", 0, dtd.start()) + 1
        raise AdapterError(
            "document type declarations (DTD, <!DOCTYPE>, <!ENTITY>) are refused: they can read local files"
            " or expand without bound",
            adapter=adapter,
            location={**file, "line": line},
        )
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, 0)
        message = (exc.msg or str(exc)).strip()
        message = re.sub(r",? line \d+, column \d+$", "", message)
        raise AdapterError(
            f"not well-formed XML: {message}", adapter=adapter, location={**file, "line": line, "column": column}
        ) from None
    except ValueError as exc:  # lxml refuses some inputs (e.g. unknown declared encoding) this way
        raise AdapterError(f"not readable as XML: {exc}", adapter=adapter, location=file) from None
    if root.getroottree().docinfo.doctype:
        raise AdapterError("document type declarations are refused", adapter=adapter, location=file)
    return root


# -- reading -------------------------------------------------------------------


_LOCAL_NAMES: dict[str, str] = {}


def local(el: Element) -> str:
    """Local name of an element, without its namespace."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        if len(_LOCAL_NAMES) > 4096:  # a hostile file cannot grow the cache without bound
            _LOCAL_NAMES.clear()
        name = _LOCAL_NAMES[tag] = tag.rsplit("}", 1)[-1]
    return name


def children(el: Element, name: str | None = None) -> Iterator[Element]:
    """Child elements (comments and processing instructions skipped), by local name."""
    if name is None:
        return el.iterchildren(tag=etree.Element)
    return el.iterchildren("{*}" + name)


def find(el: Element | None, *path: str) -> Element | None:
    """First element down a path of local names, or None."""
    for name in path:
        if el is None:
            return None
        el = next(el.iterchildren("{*}" + name), None)
    return el


def find_all(el: Element | None, *path: str) -> list[Element]:
    """Every element matching the last name of the path, under the first match of the rest."""
    if el is None or not path:
        return []
    parent = find(el, *path[:-1])
    return list(children(parent, path[-1])) if parent is not None else []


def _is_null(el: Element) -> bool:
    # ASYCUDA writes an empty value as <Name><null/></Name>.
    return len(el) > 0 and next(el.iterchildren("{*}null"), None) is not None


def text(el: Element | None, *path: str) -> str:
    """Stripped text of the element down ``path``; "" when absent, empty or ``<null/>``."""
    target = find(el, *path) if path else el
    if target is None or _is_null(target):
        return ""
    return (target.text or "").strip()


def xpath_of(el: Element) -> str:
    """A local-name XPath of an element, with positions where siblings share a name."""
    parts = []
    node: Element | None = el
    while node is not None:
        name = local(node)
        parent = node.getparent()
        if parent is not None:
            same = list(parent.iterchildren("{*}" + name))
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def where(el: Element, source: str = "") -> dict[str, object]:
    """Location of an element for an :class:`AdapterError`: line and XPath."""
    loc: dict[str, object] = {"file": source} if source else {}
    if el.sourceline:
        loc["line"] = el.sourceline
    loc["xpath"] = xpath_of(el)
    return loc


def leaves(root: Element) -> list[tuple[str, str]]:
    """Every non-empty text leaf and attribute, as (local-name path, value).

    Paths carry no positions (``ASYCUDA/Item/Tarification/HScode/Commodity_code``),
    attributes end in ``/@name``. Used by the round-trip tests.
    """
    out: list[tuple[str, str]] = []

    def walk(el: Element, prefix: str) -> None:
        path = f"{prefix}/{local(el)}" if prefix else local(el)
        for key, value in el.attrib.items():
            if value.strip():
                out.append((f"{path}/@{etree.QName(key).localname}", value.strip()))
        kids = list(children(el))
        if not kids:
            if el.text and el.text.strip():
                out.append((path, el.text.strip()))
            return
        for kid in kids:
            walk(kid, path)

    walk(root, "")
    return out


# -- writing -------------------------------------------------------------------


def sub(parent: Element, tag: str, value: str | None = None, /, **attrib: str) -> Element:
    """Append a child element. ``tag`` is ``{namespace}name`` or a plain name."""
    el = etree.SubElement(parent, tag, {k: v for k, v in attrib.items() if v})
    if value is not None:
        el.text = value
    return el


def serialize(root: Element, *, encoding: str = "UTF-8") -> bytes:
    """The document as bytes, with an XML declaration, indented."""
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding=encoding, pretty_print=True)
