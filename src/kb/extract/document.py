"""The result of extraction: clean text by page, metadata and warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RawText:
    """What a format reader returns; the dispatcher adds file metadata."""

    pages: list[str]
    title: str = ""
    warnings: list[str] = field(default_factory=list)
    # 1-based numbers of pages that have no usable text layer.
    needs_ocr: list[int] = field(default_factory=list)
    # Headings found by the reader (DOCX styles, HTML h1-h6), in order.
    headings: list[str] = field(default_factory=list)
    # Pages read by OCR (1-based number -> mean word confidence, 0-100).
    ocr: dict[int, float] = field(default_factory=dict)


@dataclass
class Document:
    path: Path
    format: str
    title: str
    pages: list[str]
    size: int
    sha256: str
    mtime: float
    dates: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    needs_ocr: list[int] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    # Where `title` came from: "properties" (DOCX/PDF/RTF metadata, HTML <title>, h1 or
    # title class), "text" (its first line), "file" (the file name). kb.enrich chooses the
    # title shown; only a declared one is taken as it is.
    title_source: str = "properties"
    # Pages read by OCR (1-based number -> mean word confidence, 0-100; kb.extract.ocr).
    ocr: dict[int, float] = field(default_factory=dict)

    @property
    def page_count(self) -> int:
        return len(self.pages)

    @property
    def text(self) -> str:
        return "\n\n".join(self.pages)

    @property
    def page_info(self) -> list[dict]:
        """Per page, aligned with `pages`: was it read by OCR, with what confidence."""
        return [{"page": n, "ocr": n in self.ocr, "confidence": self.ocr.get(n)}
                for n in range(1, len(self.pages) + 1)]

    def to_json(self) -> dict:
        """The `kb extract --json` contract, plus `page_info` and metadata."""
        return {
            "path": str(self.path),
            "format": self.format,
            "title": self.title,
            "pages": self.pages,
            "page_info": self.page_info,
            "warnings": self.warnings,
            "metadata": {
                "page_count": self.page_count,
                "size": self.size,
                "sha256": self.sha256,
                "dates": self.dates,
                "needs_ocr": self.needs_ocr,
                "mtime": self.mtime,
                "headings": self.headings,
                "title_source": self.title_source,
                "ocr": {str(n): c for n, c in sorted(self.ocr.items())},
            },
        }

    @classmethod
    def from_json(cls, data: dict) -> "Document":
        meta = data.get("metadata", {})
        return cls(
            path=Path(data["path"]),
            format=data["format"],
            title=data.get("title", ""),
            pages=list(data["pages"]),
            size=meta.get("size", 0),
            sha256=meta.get("sha256", ""),
            mtime=meta.get("mtime", 0.0),
            dates=list(meta.get("dates", [])),
            warnings=list(data.get("warnings", [])),
            needs_ocr=list(meta.get("needs_ocr", [])),
            headings=list(meta.get("headings", [])),
            title_source=str(meta.get("title_source", "properties")),
            ocr={int(n): float(c) for n, c in (meta.get("ocr") or {}).items()},
        )
