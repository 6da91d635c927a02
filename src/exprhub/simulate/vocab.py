"""Words, names and designs the GEO simulator draws its metadata from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

TISSUES = {
    "Homo sapiens": (
        "liver",
        "lung",
        "kidney",
        "breast",
        "colon",
        "skeletal muscle",
        "whole blood",
        "adipose tissue",
        "prefrontal cortex",
        "pancreatic islets",
        "skin",
        "airway epithelium",
    ),
    "Mus musculus": (
        "liver",
        "lung",
        "kidney",
        "spleen",
        "hippocampus",
        "heart",
        "skeletal muscle",
        "bone marrow",
        "white adipose tissue",
        "retina",
    ),
}


@dataclass(frozen=True)
class Design:
    """A two-group experimental design: the characteristic that separates the groups."""

    kind: str
    keys: tuple[str, ...]
    gds_type: str
    controls: tuple[str, ...]
    cases: tuple[str, ...]
    titles: tuple[str, ...]
    summaries: tuple[str, ...]


DESIGNS = (
    Design(
        "disease",
        ("disease state", "disease", "diagnosis"),
        "disease state",
        ("normal", "healthy control", "control"),
        (
            "tumor",
            "type 2 diabetes",
            "chronic obstructive pulmonary disease",
            "fibrosis",
            "Crohn's disease",
            "obesity",
        ),
        (
            "Gene expression profiling of {case} {tissue} compared with {control} {tissue}",
            "{Tissue} transcriptome in {case}",
            "Expression data from {common} {tissue} in {case} and {control} subjects",
        ),
        (
            "We profiled {tissue} from patients with {case} and from {control} donors to identify "
            "transcripts that distinguish the two states.",
            "{Case} is a major cause of morbidity. To characterise its molecular signature in "
            "{tissue}, we compared genome-wide expression between {case} and {control} samples.",
        ),
    ),
    Design(
        "treatment",
        ("treatment", "agent", "treated with"),
        "agent",
        ("vehicle", "DMSO", "untreated"),
        ("dexamethasone", "LPS", "rosiglitazone", "tamoxifen", "metformin", "TNF-alpha"),
        (
            "Effect of {case} on the {common} {tissue} transcriptome",
            "{Case} response in {tissue}",
            "Transcriptional changes in {tissue} after exposure to {case}",
        ),
        (
            "{Tissue} samples were exposed to {case} or {control} for 24 hours and profiled to "
            "identify {case}-responsive genes.",
            "Here we describe the early transcriptional response of {tissue} to {case}.",
        ),
    ),
    Design(
        "genotype",
        ("genotype", "genotype/variation", "strain"),
        "genotype/variation",
        ("wild type", "WT", "control"),
        ("{gene} knockout", "{gene} null", "{gene} transgenic"),
        (
            "Expression analysis of {gene}-deficient {tissue}",
            "Loss of {gene} alters the {tissue} transcriptome",
            "{gene} knockout versus wild type {tissue}",
        ),
        (
            "To understand the function of {gene} in {tissue}, we compared gene expression in "
            "{case} and {control} animals.",
            "{gene} is highly expressed in {tissue}. We profiled {case} {tissue} to find its "
            "downstream targets.",
        ),
    ),
)

SEX_KEYS = ("Sex", "sex", "gender", "Gender")
SEX_VALUES = (("male", "female"), ("M", "F"), ("Male", "Female"))
AGE_KEYS = {
    "Homo sapiens": ("age", "age (years)", "Age", "age (yrs)"),
    "Mus musculus": ("age", "age (weeks)", "Age"),
}
TISSUE_KEYS = ("tissue", "tissue type", "organism part")

FIRST_NAMES = (
    "Anna",
    "Bruno",
    "Chen",
    "Daniela",
    "Emeka",
    "Fatima",
    "Georg",
    "Hana",
    "Ivan",
    "Julia",
    "Kenji",
    "Laura",
    "Mehmet",
    "Nadia",
    "Oliver",
    "Priya",
    "Quentin",
    "Rosa",
    "Samuel",
    "Tomoko",
    "Ulla",
    "Victor",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zofia",
)
MIDDLE = ("", "", "A", "J", "M", "R", "S", "T")
LAST_NAMES = (
    "Andersen",
    "Barros",
    "Castillo",
    "Dubois",
    "Eriksson",
    "Fischer",
    "Garcia",
    "Hoffmann",
    "Ito",
    "Jovanovic",
    "Kowalski",
    "Li",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Varga",
    "Wang",
    "Yilmaz",
    "Zhang",
    "Novak",
)
INSTITUTES = (
    (
        "University of Northfield",
        "Department of Medicine",
        "12 College Road",
        "Northfield",
        "MN",
        "55057",
        "USA",
    ),
    (
        "Institute for Molecular Biosciences",
        "Genomics Unit",
        "Hauptstrasse 5",
        "Heidelberg",
        "",
        "69117",
        "Germany",
    ),
    (
        "Karolinska Simulation Centre",
        "Cell and Molecular Biology",
        "Solnavagen 9",
        "Stockholm",
        "",
        "17177",
        "Sweden",
    ),
    (
        "Pacific Genome Institute",
        "Systems Biology",
        "400 Harbor Drive",
        "San Diego",
        "CA",
        "92101",
        "USA",
    ),
    (
        "Tokyo Medical Research Center",
        "Bioinformatics",
        "3-1 Hongo",
        "Tokyo",
        "",
        "113-0033",
        "Japan",
    ),
)
DATA_PROCESSING = {
    "raw": "The data were analyzed with MAS 5.0 using Affymetrix default analysis settings and "
    "global scaling as normalization method. The trimmed mean target intensity of each array "
    "was arbitrarily set to 500.",
    "log2": "Robust multi-array average (RMA) normalization of CEL files with the affy package; "
    "values are log2 signal intensities.",
}
VALUE_DESCRIPTION = {
    "raw": "MAS 5.0 signal intensity",
    "log2": "RMA normalized log2 signal intensity",
}
INSTRUMENTS = {
    "Homo sapiens": "Illumina HiSeq 2500",
    "Mus musculus": "Illumina NovaSeq 6000",
}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def geo_date(day: date) -> str:
    """A date as GEO writes it in SOFT: ``Jul 29 2004``."""
    return f"{_MONTHS[day.month - 1]} {day.day:02d} {day.year}"


def contact_attributes(prefix: str, name: str, institute: tuple[str, ...]) -> list[tuple[str, str]]:
    """``<prefix>_contact_*`` attributes for a person at one of :data:`INSTITUTES`."""
    org, department, address, city, state, zip_code, country = institute
    first, _, last = name.split(",")
    email = f"{first.lower()}.{last.lower()}@{org.split()[-1].lower()}.example.org"
    out = [
        (f"{prefix}_contact_name", name),
        (f"{prefix}_contact_email", email),
        (f"{prefix}_contact_department", department),
        (f"{prefix}_contact_institute", org),
        (f"{prefix}_contact_address", address),
        (f"{prefix}_contact_city", city),
    ]
    if state:
        out.append((f"{prefix}_contact_state", state))
    out.append((f"{prefix}_contact_zip/postal_code", zip_code))
    out.append((f"{prefix}_contact_country", country))
    return out
