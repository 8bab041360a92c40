"""The codes the synthetic population uses, in one place, so that measures and data meet.

They follow the project's shared code catalogue (CPT and CDT codes appear as identifiers only,
without their descriptors). Codings carry no ``display``: a resource's CodeableConcept ``text``
says in plain words what it is, which avoids reproducing licensed descriptors and guessing at
official display strings. Sources of each group are listed in fhir_fixtures/population/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass

# ------------------------------------------------------------------ code systems
CPT = "http://www.ama-assn.org/go/cpt"
CDT = "http://www.ada.org/cdt"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CVX = "http://hl7.org/fhir/sid/cvx"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
SOPT = "https://nahdo.org/sopt"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CDC_RACE_ETH = "urn:oid:2.16.840.1.113883.6.238"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
SUBSCRIBER_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
DIAGNOSIS_ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"

# identifier systems for things this project invents (no real NPIs or MRNs)
SID_BASE = "http://pedqm.org/fhir/sid/synthetic"
SID_PRACTICE = f"{SID_BASE}/practice"
SID_CLINICIAN = f"{SID_BASE}/clinician"
SID_MRN = f"{SID_BASE}/mrn"
SID_MEMBER = f"{SID_BASE}/member-id"


@dataclass(frozen=True)
class Code:
    """A code with its system and a plain-words description (used as CodeableConcept.text)."""

    system: str
    code: str
    text: str


def icd(code: str, text: str) -> Code:
    return Code(ICD10CM, code, text)


# ------------------------------------------------------------------ encounters (CPT identifiers)
WELL_NEW = {0: "99381", 1: "99382", 5: "99383", 12: "99384", 18: "99385"}  # by minimum age in years
WELL_ESTABLISHED = {0: "99391", 1: "99392", 5: "99393", 12: "99394", 18: "99395"}
OFFICE_NEW = ("99202", "99203", "99204", "99205")
OFFICE_ESTABLISHED = ("99211", "99212", "99213", "99214", "99215")
TELEHEALTH = ("99441", "99442", "99443")
ED_VISIT = ("99281", "99282", "99283", "99284", "99285")
INPATIENT_ADMISSION = ("99221", "99222", "99223")
DEVELOPMENTAL_SCREENING = "96110"
FLUORIDE_VARNISH_CPT = "99188"
FLUORIDE_VARNISH_CDT = "D1206"
NUTRITION_THERAPY_CPT = "97802"

WELL_CHILD_DX = icd("Z00.129", "Routine child health exam without abnormal findings")
WELL_CHILD_DX_ABNORMAL = icd("Z00.121", "Routine child health exam with abnormal findings")
NEWBORN_DX = icd("Z00.110", "Health exam for newborn under 8 days old")
ADULT_EXAM_DX = icd("Z00.00", "General adult medical exam without abnormal findings")
ADULT_EXAM_DX_ABNORMAL = icd("Z00.01", "General adult medical exam with abnormal findings")
NUTRITION_COUNSELING_DX = icd("Z71.3", "Dietary counseling and surveillance")
ACTIVITY_COUNSELING_DX = icd("Z71.82", "Exercise counseling")

# counseling as procedures (SNOMED CT concepts that CMS155's value sets contain)
NUTRITION_COUNSELING_SCT = Code(SNOMED, "11816003", "Diet education")
ACTIVITY_COUNSELING_SCT = Code(SNOMED, "304507003", "Exercise education")
# follow-up of a positive adolescent depression screen (in CMS2's "Follow Up for Adolescent Depression")
DEPRESSION_REFERRAL_SCT = Code(SNOMED, "306291008", "Referral to child and adolescent psychiatrist")
DEPRESSION_FOLLOWUP_SCT = (
    Code(SNOMED, "88848003", "Psychiatric follow-up"),
    Code(SNOMED, "768835002", "Depression care management"),
    Code(SNOMED, "18512000", "Individual psychotherapy"),
)

# ------------------------------------------------------------------ immunizations (CVX)
CVX_TEXT = {
    "08": "Hepatitis B vaccine, pediatric",
    "10": "IPV",
    "03": "MMR",
    "94": "MMRV",
    "20": "DTaP",
    "106": "DTaP, 5 pertussis antigens",
    "110": "DTaP-HepB-IPV",
    "120": "DTaP-Hib-IPV",
    "48": "Hib (PRP-T)",
    "49": "Hib (PRP-OMP)",
    "21": "Varicella",
    "100": "Pneumococcal conjugate PCV7",
    "133": "Pneumococcal conjugate PCV13",
    "215": "Pneumococcal conjugate PCV15",
    "216": "Pneumococcal conjugate PCV20",
    "83": "Hepatitis A vaccine, pediatric 2-dose",
    "116": "Rotavirus, pentavalent",
    "119": "Rotavirus, monovalent",
    "150": "Influenza, quadrivalent, preservative free",
    "158": "Influenza, quadrivalent",
    "161": "Influenza, quadrivalent, preservative free, pediatric",
    "171": "Influenza, cell culture, quadrivalent, preservative free",
    "140": "Influenza, trivalent, preservative free",
    "141": "Influenza, trivalent",
    "115": "Tdap",
    "165": "HPV, 9-valent",
    "114": "Meningococcal MenACWY-D",
    "136": "Meningococcal MenACWY-CRM",
    "203": "Meningococcal MenACWY-TT",
}

# ------------------------------------------------------------------ observations (LOINC)
LEAD = Code(LOINC, "5671-3", "Lead, blood")
LEAD_VENOUS = Code(LOINC, "77307-7", "Lead, venous blood")
LEAD_CAPILLARY = Code(LOINC, "10368-9", "Lead, capillary blood")
ADOLESCENT_DEPRESSION_SCREEN = Code(LOINC, "73831-0", "Adolescent depression screening assessment")
PHQ9_TEEN_TOTAL = Code(LOINC, "89204-2", "PHQ-9 modified for teens, total score")
BMI_PERCENTILE = Code(LOINC, "59576-9", "BMI percentile per age and sex")
BMI = Code(LOINC, "39156-5", "Body mass index")
BODY_WEIGHT = Code(LOINC, "29463-7", "Body weight")
BODY_HEIGHT = Code(LOINC, "8302-2", "Body height")
FOOD_WORRY = Code(LOINC, "88122-7", "Worried food would run out (Hunger Vital Sign question 1)")
FOOD_RISK = Code(LOINC, "88124-3", "Food insecurity risk (Hunger Vital Sign)")
HOUSING_STATUS = Code(LOINC, "71802-3", "Housing status")
TRANSPORTATION = Code(LOINC, "93030-5", "Lack of transportation kept from appointments or needs")
STREP_RAPID = Code(LOINC, "78012-2", "Streptococcus pyogenes antigen, throat (rapid test)")
STREP_CULTURE = Code(LOINC, "11268-0", "Streptococcus pyogenes, throat culture")

# answers (LOINC answer codes and SNOMED CT findings)
ANSWER_OFTEN_TRUE = Code(LOINC, "LA28397-0", "Often true")
ANSWER_SOMETIMES_TRUE = Code(LOINC, "LA6729-3", "Sometimes true")
ANSWER_NEVER_TRUE = Code(LOINC, "LA28398-8", "Never true")
ANSWER_AT_RISK = Code(LOINC, "LA19952-3", "At risk")
ANSWER_NO_RISK = Code(LOINC, "LA19983-8", "No risk")
ANSWER_HAVE_HOUSING = Code(LOINC, "LA30189-7", "I have housing")
ANSWER_NO_HOUSING = Code(LOINC, "LA30190-5", "I do not have housing")
ANSWER_TRANSPORT_YES = Code(LOINC, "LA30133-5", "Yes, it has kept me from medical appointments or medications")
ANSWER_NO = Code(LOINC, "LA32-8", "No")
DEPRESSION_SCREEN_POSITIVE = Code(SNOMED, "428181000124104", "Depression screening positive")
DEPRESSION_SCREEN_NEGATIVE = Code(SNOMED, "428171000124102", "Depression screening negative")
POSITIVE = Code(SNOMED, "10828004", "Positive")
NEGATIVE = Code(SNOMED, "260385009", "Negative")

# ------------------------------------------------------------------ conditions (ICD-10-CM)
ASTHMA_INTERMITTENT = (icd("J45.20", "Mild intermittent asthma, uncomplicated"),
                       icd("J45.909", "Unspecified asthma, uncomplicated"))
ASTHMA_PERSISTENT = (icd("J45.30", "Mild persistent asthma, uncomplicated"),
                     icd("J45.40", "Moderate persistent asthma, uncomplicated"),
                     icd("J45.50", "Severe persistent asthma, uncomplicated"))
ADHD = (icd("F90.0", "ADHD, predominantly inattentive type"),
        icd("F90.1", "ADHD, predominantly hyperactive type"),
        icd("F90.2", "ADHD, combined type"),
        icd("F90.9", "ADHD, unspecified type"))
DEPRESSION = (icd("F32.9", "Major depressive disorder, single episode, unspecified"),
              icd("F32.1", "Major depressive disorder, single episode, moderate"))
ANXIETY = icd("F41.9", "Anxiety disorder, unspecified")
AUTISM = icd("F84.0", "Autistic disorder")
OBESITY = icd("E66.9", "Obesity, unspecified")
EPILEPSY = icd("G40.909", "Epilepsy, unspecified, not intractable")
TYPE1_DIABETES = icd("E10.9", "Type 1 diabetes mellitus without complications")

# Other chronic conditions (PMCA body systems, not CCCs): key -> (code, onset ages in years)
OTHER_CHRONIC: dict[str, tuple[Code, tuple[float, float]]] = {
    "speech_language": (icd("F80.9", "Developmental disorder of speech and language, unspecified"), (2, 8)),
    "sleep_apnea": (icd("G47.33", "Obstructive sleep apnea"), (2, 21)),
    "scoliosis": (icd("M41.125", "Adolescent idiopathic scoliosis, thoracic region"), (10, 21)),
    "celiac": (icd("K90.0", "Celiac disease"), (1, 21)),
    "hypothyroidism": (icd("E03.9", "Hypothyroidism, unspecified"), (0, 21)),
    "hearing_loss": (icd("H90.3", "Sensorineural hearing loss, bilateral"), (0, 21)),
    "vsd": (icd("Q21.0", "Ventricular septal defect"), (0, 0.5)),
    "arthritis": (icd("M08.00", "Unspecified juvenile rheumatoid arthritis of unspecified site"), (1, 21)),
}

PHARYNGITIS = icd("J02.9", "Acute pharyngitis, unspecified")
STREP_PHARYNGITIS = icd("J02.0", "Streptococcal pharyngitis")
TONSILLITIS = icd("J03.90", "Acute tonsillitis, unspecified")
URI = icd("J06.9", "Acute upper respiratory infection, unspecified")
NASOPHARYNGITIS = icd("J00", "Acute nasopharyngitis")
OTITIS_MEDIA = icd("H66.90", "Otitis media, unspecified")
GASTROENTERITIS = icd("A08.4", "Viral intestinal infection, unspecified")
FEVER = icd("R50.9", "Fever, unspecified")
ABDOMINAL_PAIN = icd("R10.9", "Unspecified abdominal pain")
ANKLE_SPRAIN = icd("S93.401A", "Sprain of unspecified ligament of right ankle, initial encounter")
HEAD_INJURY = icd("S09.90XA", "Unspecified injury of head, initial encounter")
BRONCHIOLITIS = icd("J21.9", "Acute bronchiolitis, unspecified")
PNEUMONIA = icd("J18.9", "Pneumonia, unspecified organism")
DEHYDRATION = icd("E86.0", "Dehydration")
PREGNANCY = icd("Z33.1", "Pregnant state, incidental")


@dataclass(frozen=True)
class CccDiagnosis:
    """A complex chronic condition: its code, CCC v3 category, relative frequency, the youngest
    age (years) at which it is assigned, and technology codes that often come with it."""

    code: Code
    category: str
    weight: float
    min_age: int = 0
    max_age: int = 21
    tech: tuple[Code, ...] = ()


GASTROSTOMY = icd("Z93.1", "Gastrostomy status")
VP_SHUNT = icd("Z98.2", "Presence of cerebrospinal fluid drainage device")
TRACHEOSTOMY = icd("Z93.0", "Tracheostomy status")

# Every code below is in the CCC v3.0 list (engine/pedqm/chronic/data/ccc_codes.csv; a test checks).
# Weights roughly follow the category mix of children with CCCs in outpatient data (neuromuscular,
# cardiovascular and congenital/genetic the most common); they are a modelling choice.
CCC_DIAGNOSES: tuple[CccDiagnosis, ...] = (
    CccDiagnosis(icd("G80.9", "Cerebral palsy, unspecified"), "neuromusc", 10, tech=(GASTROSTOMY,)),
    CccDiagnosis(icd("G40.919", "Epilepsy, unspecified, intractable"), "neuromusc", 8),
    CccDiagnosis(icd("Q05.9", "Spina bifida, unspecified"), "neuromusc", 3, tech=(VP_SHUNT,)),
    CccDiagnosis(icd("G91.9", "Hydrocephalus, unspecified"), "neuromusc", 2, tech=(VP_SHUNT,)),
    CccDiagnosis(icd("G71.01", "Duchenne or Becker muscular dystrophy"), "neuromusc", 1.5, min_age=2),
    CccDiagnosis(icd("Q21.3", "Tetralogy of Fallot"), "cvd", 6),
    CccDiagnosis(icd("Q23.4", "Hypoplastic left heart syndrome"), "cvd", 2, tech=(GASTROSTOMY,)),
    CccDiagnosis(icd("Q20.3", "Discordant ventriculoarterial connection"), "cvd", 2),
    CccDiagnosis(icd("Q90.9", "Down syndrome, unspecified"), "congeni_genetic", 8),
    CccDiagnosis(icd("Q87.40", "Marfan syndrome, unspecified"), "congeni_genetic", 1.5, min_age=2),
    CccDiagnosis(icd("E84.0", "Cystic fibrosis with pulmonary manifestations"), "respiratory", 3, tech=(GASTROSTOMY,)),
    CccDiagnosis(icd("D57.1", "Sickle-cell disease without crisis"), "hemato_immu", 6),
    CccDiagnosis(icd("D81.9", "Combined immunodeficiency, unspecified"), "hemato_immu", 0.8),
    CccDiagnosis(icd("C91.00", "Acute lymphoblastic leukemia not having achieved remission"), "malignancy", 3, min_age=1),
    CccDiagnosis(icd("C71.9", "Malignant neoplasm of brain, unspecified"), "malignancy", 1.2, min_age=1),
    CccDiagnosis(icd("C64.1", "Malignant neoplasm of right kidney"), "malignancy", 0.8, min_age=1, max_age=10),
    CccDiagnosis(icd("N18.4", "Chronic kidney disease, stage 4"), "renal", 2),
    CccDiagnosis(icd("N18.5", "Chronic kidney disease, stage 5"), "renal", 0.8),
    CccDiagnosis(icd("K50.90", "Crohn's disease, unspecified, without complications"), "gi", 3, min_age=6),
    CccDiagnosis(icd("E70.0", "Classical phenylketonuria"), "metabolic", 1.5),
    CccDiagnosis(icd("E76.1", "Mucopolysaccharidosis, type II"), "metabolic", 0.6),
    CccDiagnosis(icd("P07.25", "Extreme immaturity, gestational age 25 completed weeks"), "neonatal", 2, max_age=1,
                 tech=(GASTROSTOMY,)),
)

# ------------------------------------------------------------------ medications (RxNorm)
@dataclass(frozen=True)
class Drug:
    code: Code
    days_supply: int


def rx(code: str, text: str, days: int) -> Drug:
    return Drug(Code(RXNORM, code, text), days)


FLUTICASONE = rx("896188", "fluticasone propionate 110 mcg inhaler", 90)
BUDESONIDE = rx("351109", "budesonide 0.5 mg/2 mL inhalation suspension", 90)
MONTELUKAST = rx("997488", "montelukast 5 mg chewable tablet", 90)
ALBUTEROL = rx("745752", "albuterol 90 mcg/actuation inhaler", 30)
METHYLPHENIDATE_ER = rx("1091170", "methylphenidate hydrochloride 27 mg 24-hour extended-release tablet", 30)
METHYLPHENIDATE_IR = rx("1091497", "methylphenidate hydrochloride 5 mg tablet", 30)
AMPHETAMINE_SALTS = rx("541892", "mixed amphetamine salts 10 mg tablet", 30)
AMOXICILLIN_CAPSULE = rx("308191", "amoxicillin 500 mg capsule", 10)
AMOXICILLIN_SUSPENSION = rx("308189", "amoxicillin 400 mg/5 mL oral suspension", 10)
AZITHROMYCIN_SUSPENSION = rx("141963", "azithromycin 200 mg/5 mL oral suspension", 5)
CEFDINIR_SUSPENSION = rx("309054", "cefdinir 250 mg/5 mL oral suspension", 10)
FLUOXETINE = rx("310384", "fluoxetine 10 mg capsule", 30)

# ------------------------------------------------------------------ demographics
RACE_CODES = {
    "white": ("2106-3", "White"),
    "black": ("2054-5", "Black or African American"),
    "asian": ("2028-9", "Asian"),
    "aian": ("1002-5", "American Indian or Alaska Native"),
    "nhpi": ("2076-8", "Native Hawaiian or Other Pacific Islander"),
}
HISPANIC = ("2135-2", "Hispanic or Latino")
NOT_HISPANIC = ("2186-5", "Not Hispanic or Latino")

PAYER_TYPES = {
    "medicaid": ("2", "Medicaid"),
    "private": ("5", "Private health insurance"),
    "self-pay": ("81", "Self-pay"),
}
