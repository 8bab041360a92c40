"""Invented names for synthetic people, drawn from lists of common US given names and surnames."""

from __future__ import annotations

import random

GIVEN_FEMALE = (
    "Olivia", "Emma", "Charlotte", "Amelia", "Sophia", "Mia", "Isabella", "Ava", "Evelyn", "Luna", "Harper",
    "Camila", "Sofia", "Scarlett", "Elizabeth", "Eleanor", "Emily", "Chloe", "Mila", "Violet", "Penelope",
    "Gianna", "Aria", "Abigail", "Ella", "Avery", "Hazel", "Nora", "Layla", "Lily", "Aaliyah", "Madison",
    "Zoe", "Valentina", "Nevaeh", "Maya", "Ximena", "Leah", "Imani", "Grace", "Jasmine", "Mei", "Priya",
)
GIVEN_MALE = (
    "Liam", "Noah", "Oliver", "James", "Elijah", "Mateo", "Theodore", "Henry", "Lucas", "William", "Benjamin",
    "Levi", "Sebastian", "Jack", "Ezra", "Michael", "Daniel", "Leo", "Owen", "Samuel", "Hudson", "Alexander",
    "Asher", "Luca", "Ethan", "John", "David", "Jackson", "Joseph", "Mason", "Luke", "Santiago", "Jayden",
    "Isaiah", "Malik", "Andre", "Diego", "Kevin", "Arjun", "Wei", "Omar", "Gabriel", "Carter",
)
FAMILY = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams",
    "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Kim", "Patel", "Chen",
    "Washington", "Jefferson", "Begay", "Yazzie", "Singh", "Tran", "Cruz", "Reyes", "Morales", "Ortiz",
)


def person_name(rng: random.Random, sex: str) -> tuple[str, str]:
    """(given, family) for a patient of ``sex`` ('male' or 'female')."""
    given = rng.choice(GIVEN_MALE if sex == "male" else GIVEN_FEMALE)
    return given, rng.choice(FAMILY)


def clinician_name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(GIVEN_FEMALE + GIVEN_MALE), rng.choice(FAMILY)
