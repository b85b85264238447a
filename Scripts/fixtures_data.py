#!/usr/bin/env python3
"""Label-file fixtures for Tests/IQADataTests (run from the repository root): small CSV files (good and
malformed) and hand-built .xlsx workbooks exercising the SpreadsheetML features the native reader supports
(shared strings with rich-text runs and phonetic runs, inline strings, str/b/e/n cells, cells without a
reference, missing cells, a sheet reached through a non-default relationship target), plus malformed ones.
The good workbook is read back with openpyxl to print the values the Swift test expects.

    python3 Scripts/fixtures_data.py
"""
import io
import os
import zipfile

import openpyxl

OUT = os.path.join("Tests", "IQADataTests", "Fixtures")

GOOD_CSV = (
    "\ufeffimage,prompt,mos,align\r\n"
    "a_001.jpg,plain prompt,1.5,2\r\n"
    'b_002.jpg,"cats, dogs and ""quotes""",2.25,3\r\n'
    'c_003.jpg,"two\r\nlines",3,4.5\r\n'
    "\r\n"
    "d_004.jpg, spaced ,  4 ,0\r\n"
)

# Line numbers in comments are the physical lines the records start on.
BAD_CSV = (
    "image,prompt,mos\n"            # 1
    "a.jpg,ok,1\n"                  # 2
    "b.jpg,fine,abc\n"              # 3 non-numeric score
    "c.jpg,,2\n"                    # 4 empty prompt
    "d.jpg,too,many,fields\n"       # 5 wrong column count
    'e.jpg,"multi\nline",3\n'       # 6-7 good (quoted newline)
    '"f.jpg"x,p,1\n'                # 8 text after closing quote
    "g.jpg,p,\n"                    # 9 missing score
    'h.jpg,"never closed,1\n'       # 10 unterminated quote (runs to the end)
    "i.jpg,p,1\n"
)

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/data.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/worksheets/notes.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><x:sheets><x:sheet name="Notes" sheetId="2" r:id="rId9"/><x:sheet name="Labels" sheetId="1" r:id="rId7"/></x:sheets></x:workbook>"""
WB_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/data.xml"/><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/notes.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"""
SHARED = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<x:sst xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="6" uniqueCount="6"><x:si><x:t>Image</x:t></x:si><x:si><x:t>Prompt</x:t></x:si><x:si><x:t>MOS</x:t></x:si><x:si><x:t>cat_1_2.jpg</x:t></x:si><x:si><x:r><x:rPr><x:b/></x:rPr><x:t xml:space="preserve">a cat, </x:t></x:r><x:r><x:t>wearing a hat &amp; coat</x:t></x:r><x:rPh sb="0" eb="1"><x:t>PHONETIC</x:t></x:rPh></x:si><x:si><x:t>dog_3_4.jpg</x:t><x:phoneticPr fontId="1"/></x:si></x:sst>"""
DATA_SHEET = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>
<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c><x:c r="C1" t="s"><x:v>2</x:v></x:c><x:c r="D1" t="inlineStr"><x:is><x:t>Flag</x:t></x:is></x:c></x:row>
<x:row r="2"><x:c r="A2" t="s"><x:v>3</x:v></x:c><x:c r="B2" t="s"><x:v>4</x:v></x:c><x:c r="C2"><x:v>2.7934105045636524</x:v></x:c><x:c r="D2" t="b"><x:v>1</x:v></x:c></x:row>
<x:row r="3"><x:c r="A3" t="s"><x:v>5</x:v></x:c><x:c r="B3" t="inlineStr"><x:is><x:r><x:t>a dog </x:t></x:r><x:r><x:t>on a bike</x:t></x:r></x:is></x:c><x:c r="C3"><x:v>1E-3</x:v></x:c></x:row>
<x:row r="5"><x:c t="str"><x:v>emu_5_6.jpg</x:v></x:c><x:c t="str"><x:f>B3</x:f><x:v>an emu</x:v></x:c><x:c><x:v>4</x:v></x:c><x:c t="b"><x:v>0</x:v></x:c></x:row>
<x:row r="6"><x:c r="A6"/><x:c r="C6"/></x:row>
<x:row r="7"><x:c r="A7" t="inlineStr"><x:is><x:t>fox_7_8.jpg</x:t></x:is></x:c><x:c r="B7" t="inlineStr"><x:is><x:t>a fox</x:t></x:is></x:c><x:c r="C7" t="e"><x:v>#N/A</x:v></x:c></x:row>
</x:sheetData></x:worksheet>"""
NOTES_SHEET = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>note</t></is></c></row></sheetData></worksheet>"""


def build(parts):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts:
            z.writestr(name, text)
    return buf.getvalue()


def good_parts():
    return [("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", ROOT_RELS), ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WB_RELS), ("xl/sharedStrings.xml", SHARED),
            ("xl/worksheets/data.xml", DATA_SHEET), ("xl/worksheets/notes.xml", NOTES_SHEET)]


def write(name, data):
    path = os.path.join(OUT, name)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    print(f"wrote {path} ({len(data)} bytes)")


def main():
    os.makedirs(OUT, exist_ok=True)
    write("good.csv", GOOD_CSV.encode("utf-8"))
    write("bad.csv", BAD_CSV.encode("utf-8"))
    good = build(good_parts())
    write("good.xlsx", good)
    write("truncated.xlsx", good[: len(good) // 2])
    write("notazip.xlsx", b"Image,Prompt,MOS\na.jpg,p,1\n")
    write("missingsheet.xlsx", build([p for p in good_parts() if p[0] != "xl/worksheets/data.xml"]))
    write("badxml.xlsx", build([(n, t if n != "xl/worksheets/data.xml" else t.replace("</x:row>", "", 1))
                                for n, t in good_parts()]))
    # What openpyxl makes of the good workbook's "Labels" sheet (the reference for the Swift test).
    wb = openpyxl.load_workbook(os.path.join(OUT, "good.xlsx"))
    for row in wb["Labels"].iter_rows(values_only=False):
        print([(c.coordinate, c.value) for c in row])


if __name__ == "__main__":
    main()
