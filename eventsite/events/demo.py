"""Demonstration data: a small, believable programme of forums and conferences.

Everything here is invented (organisations, people, venues' names). Dates are computed
relative to the moment of loading, so the demo always has upcoming events. Demo rows are
known by their slugs (organisations, topics, events) and names (speakers): `clear_demo()`
deletes those and nothing else, and keeps an organisation, topic or speaker that someone's
own event still uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, select

from eventsite import timeutil
from eventsite.events import services
from eventsite.events.models import (
    AgendaSession,
    Event,
    EventFormat,
    EventKind,
    EventStatus,
    Organisation,
    SessionSpeaker,
    Speaker,
    Topic,
    event_topics,
)
from eventsite.extensions import db

# --- organisations and topics ------------------------------------------------------------------

ORGANISATIONS: list[dict[str, Any]] = [
    {
        "slug": "world-science-cooperation-council",
        "name": "World Science Cooperation Council",
        "website": "https://wscc.example.org",
        "description": (
            "An association of academies, universities and research funders that promotes "
            "open science and cooperation across borders. It convenes the annual World Forum "
            "on Science and Technology."
        ),
    },
    {
        "slug": "lakeside-institute-global-health",
        "name": "Lakeside Institute for Global Health",
        "website": "https://lakeside-health.example.org",
        "description": (
            "A research and training institute on the shore of Lake Geneva working on "
            "vaccines, outbreak response and health systems."
        ),
    },
    {
        "slug": "savanna-digital-futures-network",
        "name": "Savanna Digital Futures Network",
        "website": "https://savanna-digital.example.org",
        "description": (
            "A network of universities, start-ups and public agencies in East Africa that "
            "studies the digital economy and connects rural communities."
        ),
    },
    {
        "slug": "atlantic-climate-research-consortium",
        "name": "Atlantic Climate Research Consortium",
        "website": "https://atlantic-climate.example.org",
        "description": (
            "Climate scientists and engineers from both sides of the Atlantic working on "
            "observation, adaptation and the transition to clean energy."
        ),
    },
]

TOPICS: list[dict[str, str]] = [
    {
        "slug": "climate-green-development",
        "name": "Climate change and green development",
        "description": "Science for a warming world: observation, adaptation, clean energy.",
    },
    {
        "slug": "public-health",
        "name": "Public health and pandemic response",
        "description": "Vaccines, therapeutics, surveillance and how health systems respond.",
    },
    {
        "slug": "digital-economy",
        "name": "Digital economy",
        "description": "Data, platforms, digital trade and the rules that keep them fair.",
    },
    {
        "slug": "connectivity",
        "name": "Connectivity",
        "description": "Networks, infrastructure and exchange between people and institutions.",
    },
    {
        "slug": "science-ethics",
        "name": "Science ethics",
        "description": "Integrity, responsibility and the governance of new technologies.",
    },
    {
        "slug": "open-science",
        "name": "Open science",
        "description": "Open data, open access, shared instruments and reproducible research.",
    },
]

# --- speakers (all fictional) ------------------------------------------------------------------

NOBEL_PHYSICS = "Nobel laureate in Physics"
NOBEL_CHEMISTRY = "Nobel laureate in Chemistry"
NOBEL_MEDICINE = "Nobel laureate in Physiology or Medicine"
NOBEL_ECONOMICS = "Nobel laureate in Economic Sciences"

# key: (name, affiliation, country, honours, bio)
# fmt: off
SPEAKERS: dict[str, tuple[str, str, str, str, str]] = {
    "okonkwo": ("Amara Okonkwo-Reyes", "Institute for Molecular Design", "NG", NOBEL_CHEMISTRY,
        "Chemist whose work on self-assembling catalysts made cheap green fertiliser possible."),
    "vedeler": ("Lars Henrik Vedeler", "Nordic Centre for Quantum Matter", "NO", NOBEL_PHYSICS,
        "Physicist known for experiments on entangled light in optical fibre networks."),
    "tsao": ("Mei-Lin Tsao", "Pacific Institute of Immunology", "SG", NOBEL_MEDICINE,
        "Immunologist who described how memory cells recognise mutated viral proteins."),
    "albuquerque": ("Joaquim Albuquerque Neto", "Federal Institute of Tropical Research", "BR",
        NOBEL_CHEMISTRY,
        "Works on biodegradable polymers made from Amazonian plant oils."),
    "adebayo": ("Ruth Adebayo-Klein", "Max Weller Institute for Solar Physics", "DE", NOBEL_PHYSICS,
        "Astrophysicist who measured the magnetic cycles of sun-like stars."),
    "moriyama": ("Kenji Moriyama-Hart", "Kansai University of Life Sciences", "JP", NOBEL_MEDICINE,
        "Discovered a family of enzymes that repair DNA damaged by ultraviolet light."),
    "castellanos": ("Elinor Castellanos", "Harborview School of Economics", "US", NOBEL_ECONOMICS,
        "Economist studying how open standards shape competition in digital markets."),
    "zhou": ("Zhou Lanying", "World Science Cooperation Council", "CN",
        "Member of the National Academy of Engineering",
        "Materials engineer and president of the council that convenes the forum."),
    "wen": ("Wen Jiahao", "Institute of Atmospheric Systems", "CN", "",
        "Leads a programme of high-altitude climate observatories."),
    "lin": ("Lin Qiaoyu", "Centre for Radio Astronomy Cooperation", "CN", "",
        "Coordinates observing time for international teams on a large radio telescope."),
    "mwangi": ("Aisha Mwangi-Otieno", "Savanna Digital Futures Network", "KE", "",
        "Economist working on mobile payments and small businesses in East Africa."),
    "langat": ("Samuel Kiprop Langat", "Rift Valley Institute of Technology", "KE", "",
        "Engineer building solar-powered community networks."),
    "achieng": ("Grace Achieng", "Kisumu Public Health Laboratory", "KE", "",
        "Epidemiologist running genomic surveillance for the Lake Victoria region."),
    "raghunathan": ("Priya Raghunathan", "Deccan Institute of Data Science", "IN", "",
        "Computer scientist working on privacy-preserving sharing of health data."),
    "deshmukh": ("Anjali Deshmukh-Rao", "Open Research Commons India", "IN", "",
        "Librarian and advocate for open access publishing."),
    "nogueira": ("Beatriz Nogueira Pires", "Atlantic Climate Research Consortium", "BR", "",
        "Hydrologist modelling rainfall over the Amazon and the Atlantic Forest."),
    "echeverria": ("Tomás Echeverría", "Patagonian Institute for Glacier Studies", "AR", "",
        "Glaciologist tracking the retreat of Andean ice fields."),
    "quintero": ("Rafael Quintero", "Mesoamerican Energy Laboratory", "MX", "",
        "Works on green hydrogen from solar power."),
    "brandt": ("Olivier Brandt-Moser", "Lakeside Institute for Global Health", "CH", "",
        "Vaccinologist and director of the institute's manufacturing programme."),
    "rochat": ("Pierre-Alain Rochat", "Alpine School of Engineering", "CH", "",
        "Specialist in secure software for critical infrastructure."),
    "solheim": ("Ingrid Solheim", "Uppsala Centre for Research Ethics", "SE", "",
        "Philosopher writing on consent and the governance of gene editing."),
    "whitcombe": ("Hannah Whitcombe", "Institute for Science Policy, Bristol", "GB", "",
        "Studies how governments use scientific advice in emergencies."),
    "benali": ("Fatima Zahra Benali", "Atlas Institute of Renewable Energy", "MA", "",
        "Engineer who designs concentrated solar plants for desert regions."),
    "demir": ("Yusuf Demir", "Anatolian Seismic Research Centre", "TR", "",
        "Seismologist sharing real-time earthquake data across borders."),
    "lombardi": ("Chiara Lombardi-Vesco", "Mediterranean Institute of Marine Science", "IT", "",
        "Oceanographer studying marine heatwaves."),
    "varga": ("Nikolai Varga", "Danube University of Technology", "HU", "",
        "Researcher in optical networks and the future of the internet backbone."),
    "haddad": ("Leila Haddad", "Levant Centre for Bioethics", "LB", "",
        "Physician and bioethicist who chairs a regional research ethics board."),
    "feldmann": ("Jonah Feldmann", "Hudson Institute of Public Health", "US", "",
        "Runs adaptive clinical trials for emerging infections."),
    "goldberg": ("Maya Goldberg-Santos", "Atlantic Climate Research Consortium", "US", "",
        "Ocean engineer who builds autonomous observation buoys."),
    "kowalczyk": ("Agnieszka Kowalczyk", "Vistula Institute of Computer Science", "PL", "",
        "Works on trustworthy machine learning and algorithm audits."),
    "nguyen": ("Nguyen Thi Thu Ha", "Mekong Delta Climate Institute", "VN", "",
        "Studies salt-water intrusion and farming in river deltas."),
    "park": ("Park Seo-yeon", "Hanbit Institute of Science and Technology", "KR", "",
        "Designs low-power chips for sensor networks."),
}
# fmt: on

# --- events --------------------------------------------------------------------------------------

FLAGSHIP_DESCRIPTION = """\
The **World Forum on Science and Technology** gathers researchers, engineers, policy makers
and industry for three days of open debate on how science can stay a good shared by everyone.

This edition is built around three words: **openness, trust and cooperation**. More than
205 experts, seven Nobel laureates among them, from 19 countries and regions are on the
programme.

## What the forum covers

- Vaccines, treatments and how the world answers the next pandemic
- Climate change and the move to green development
- The digital economy and the rules that keep it fair
- Connectivity: networks, infrastructure and exchange between people
- Science ethics and the governance of emerging technologies

## Why now

No country can face pandemics, a warming planet or the ethical questions of new
technologies on its own. Speakers will discuss how institutions can share data, instruments
and results more freely; how trust between research communities is earned and kept; and how
joint work turns discoveries into solutions for sustainable development.

Plenaries are in English with interpretation into Chinese, French and Spanish, and are
streamed for registered online participants.
"""

# Each event: slug, organisation slug, topics, timing relative to the load time (days from
# today in the event's zone, local start/end times, number of days), place and registration.
# fmt: off
EVENTS: list[dict[str, Any]] = [
    {
        "slug": "world-forum-science-technology-openness-trust-cooperation",
        "title": "World Forum on Science and Technology: Openness, Trust and Cooperation",
        "kind": EventKind.FORUM,
        "organisation": "world-science-cooperation-council",
        "topics": [
            "public-health",
            "climate-green-development",
            "digital-economy",
            "connectivity",
            "science-ethics",
            "open-science",
        ],
        "summary": (
            "Three days on science as a global public good: more than 205 experts, including "
            "seven Nobel laureates, from 19 countries and regions."
        ),
        "description": FLAGSHIP_DESCRIPTION,
        "timezone": "Asia/Shanghai",
        "day": 45,
        "days": 3,
        "start": "09:00",
        "end": "17:30",
        "format": EventFormat.HYBRID,
        "venue_name": "Northern Lakes Conference Centre",
        "venue_address": "1 Lakeside Avenue, Huairou District",
        "city": "Beijing",
        "country": "CN",
        "latitude": 40.405,
        "longitude": 116.675,
        "online_url": "https://live.wscc.example.org/forum",
        "capacity": 1200,
        "registration": (-20, 2),
        "has_waiting_list": True,
        "sessions": [
            (0, "09:00", "10:30", "Opening plenary: science as a global public good", "Grand Hall",
             ["zhou", "okonkwo", "castellanos"],
             "Welcome from the council and keynotes on why openness matters now."),
            (0, "11:00", "12:30", "Vaccines and the next pandemic", "Grand Hall",
             ["tsao", "moriyama", "feldmann", "achieng"],
             "What the last pandemic taught us about sharing samples, data and manufacturing."),
            (0, "14:00", "15:30", "Green development: from research to industry", "Room A",
             ["albuquerque", "benali", "quintero"], ""),
            (0, "14:00", "15:30", "Open instruments: sharing telescopes and light sources",
             "Room B", ["lin", "adebayo", "vedeler"], ""),
            (0, "16:00", "17:30", "Young scientists' forum", "Room C", ["park", "nguyen"],
             "Early-career researchers present their work and questions to the laureates."),
            (1, "09:00", "10:30", "The digital economy: data, platforms and fair rules",
             "Grand Hall", ["castellanos", "mwangi", "kowalczyk"], ""),
            (1, "11:00", "12:30", "Connectivity for everyone", "Room A",
             ["langat", "varga", "park"],
             "Closing the gap between connected cities and unconnected villages."),
            (1, "11:00", "12:30", "Climate observation without borders", "Room B",
             ["wen", "echeverria", "lombardi", "nogueira"], ""),
            (1, "14:00", "15:30", "Trust in science: advice, evidence and the public",
             "Grand Hall", ["whitcombe", "haddad", "deshmukh"], ""),
            (1, "16:00", "17:30", "Laureates' dialogue", "Grand Hall",
             ["okonkwo", "vedeler", "tsao", "albuquerque", "adebayo", "moriyama", "castellanos"],
             "Seven Nobel laureates on the discoveries that changed their minds."),
            (2, "09:00", "10:30", "Science ethics and the governance of new technologies",
             "Grand Hall", ["solheim", "haddad", "kowalczyk"], ""),
            (2, "11:00", "12:30", "Open science in practice: data, code and publications",
             "Room A", ["deshmukh", "raghunathan", "demir"], ""),
            (2, "14:00", "15:30", "Closing plenary and the forum's statement", "Grand Hall",
             ["zhou", "vedeler", "mwangi"], ""),
        ],
    },
    {
        "slug": "vaccine-manufacturing-access-workshop",
        "title": "Vaccines for Everyone: Manufacturing and Access",
        "kind": EventKind.WORKSHOP,
        "organisation": "lakeside-institute-global-health",
        "topics": ["public-health"],
        "summary": "A hands-on workshop on regional vaccine production and fair distribution.",
        "description": (
            "Two days for people who make, regulate and deliver vaccines.\n\n"
            "- Technology transfer to regional manufacturers\n"
            "- Quality control with limited laboratory capacity\n"
            "- Cold chains that work in hot climates\n\n"
            "Places are limited; a waiting list opens when the workshop is full."
        ),
        "timezone": "Europe/Zurich",
        "day": 20,
        "days": 2,
        "start": "09:00",
        "end": "17:00",
        "format": EventFormat.IN_PERSON,
        "venue_name": "Lakeside Campus, Auditorium 2",
        "venue_address": "Chemin des Sciences 12",
        "city": "Geneva",
        "country": "CH",
        "latitude": 46.2235,
        "longitude": 6.1432,
        "capacity": 60,
        "registration": (-30, 3),
        "has_waiting_list": True,
        "requires_approval": True,
        "sessions": [
            (0, "09:00", "10:30", "Technology transfer that lasts", "Auditorium 2",
             ["brandt", "tsao"], ""),
            (0, "11:00", "12:30", "Regulators in the room", "Auditorium 2",
             ["whitcombe", "feldmann"], ""),
            (1, "09:00", "12:00", "Cold-chain clinic", "Lab 4", ["achieng", "brandt"],
             "Small groups work through real distribution plans."),
        ],
    },
    {
        "slug": "lessons-from-rapid-trials-lecture",
        "title": "Lessons from Two Years of Rapid Clinical Trials",
        "kind": EventKind.LECTURE,
        "organisation": "lakeside-institute-global-health",
        "topics": ["public-health", "open-science"],
        "summary": "An online evening lecture on adaptive trials and sharing results early.",
        "description": (
            "How did adaptive platform trials find working treatments in months rather than "
            "years, and what should we keep? A lecture followed by questions from the audience."
        ),
        "timezone": "Europe/Zurich",
        "day": 9,
        "days": 1,
        "start": "18:00",
        "end": "19:30",
        "format": EventFormat.ONLINE,
        "online_url": "https://meet.lakeside-health.example.org/rapid-trials",
        "country": None,
        "capacity": None,
        "registration": (-14, 0),
        "sessions": [
            (0, "18:00", "19:00", "Lecture", "", ["feldmann"], ""),
            (0, "19:00", "19:30", "Questions and answers", "", ["feldmann", "brandt"], ""),
        ],
    },
    {
        "slug": "nairobi-digital-economy-summit",
        "title": "Nairobi Digital Economy Summit",
        "kind": EventKind.SUMMIT,
        "organisation": "savanna-digital-futures-network",
        "topics": ["digital-economy", "connectivity"],
        "summary": "Mobile money, digital trade and the next generation of African platforms.",
        "description": (
            "Founders, regulators and researchers meet to discuss how the digital economy can "
            "create good jobs. Registration opens soon; the programme is still growing."
        ),
        "timezone": "Africa/Nairobi",
        "day": 70,
        "days": 2,
        "start": "08:30",
        "end": "17:00",
        "format": EventFormat.IN_PERSON,
        "venue_name": "Riverside Innovation Hub",
        "venue_address": "Riverside Drive 14",
        "city": "Nairobi",
        "country": "KE",
        "latitude": -1.2676,
        "longitude": 36.8108,
        "capacity": 400,
        "registration": (15, 1),
        "sessions": [
            (0, "08:30", "10:00", "Opening: platforms for everyone", "Main Stage",
             ["mwangi", "castellanos"], ""),
            (0, "10:30", "12:00", "Digital trade across borders", "Main Stage",
             ["mwangi", "kowalczyk"], ""),
            (1, "09:00", "12:00", "Start-up clinic", "Studio", ["langat"], ""),
        ],
    },
    {
        "slug": "rural-broadband-workshop",
        "title": "Connecting the Last Billion: Rural Broadband Workshop",
        "kind": EventKind.WORKSHOP,
        "organisation": "savanna-digital-futures-network",
        "topics": ["connectivity"],
        "summary": "Community networks, solar power and spectrum rules for rural areas.",
        "description": (
            "A practical workshop for engineers and local governments. Join us in Kisumu or "
            "follow online."
        ),
        "timezone": "Africa/Nairobi",
        "day": 33,
        "days": 1,
        "start": "09:00",
        "end": "16:00",
        "format": EventFormat.HYBRID,
        "venue_name": "Lakefront Technology Centre",
        "venue_address": "Oginga Odinga Street 3",
        "city": "Kisumu",
        "country": "KE",
        "latitude": -0.0917,
        "longitude": 34.768,
        "online_url": "https://meet.savanna-digital.example.org/broadband",
        "capacity": 80,
        "registration": (-10, 1),
        "sessions": [
            (0, "09:00", "11:00", "Building a community network", "Workshop room",
             ["langat", "varga"], ""),
            (0, "11:30", "13:00", "Solar power for base stations", "Workshop room",
             ["benali", "park"], ""),
            (0, "14:00", "16:00", "Spectrum and licensing", "Workshop room", ["mwangi"], ""),
        ],
    },
    {
        "slug": "amazon-atlantic-forest-climate-conference",
        "title": "Amazon and Atlantic Forest Climate Science Conference",
        "kind": EventKind.CONFERENCE,
        "organisation": "atlantic-climate-research-consortium",
        "topics": ["climate-green-development", "open-science"],
        "summary": "Rainfall, forests and the tipping points of South America's climate.",
        "description": (
            "Three days of research talks and posters on the forests that make South "
            "America's rain.\n\n**Call for posters** closes four weeks before the conference."
        ),
        "timezone": "America/Sao_Paulo",
        "day": 100,
        "days": 3,
        "start": "09:00",
        "end": "18:00",
        "format": EventFormat.IN_PERSON,
        "venue_name": "Ibirapuera Research Pavilion",
        "venue_address": "Avenida Pedro Álvares Cabral, Gate 10",
        "city": "São Paulo",
        "country": "BR",
        "latitude": -23.5874,
        "longitude": -46.6576,
        "capacity": 350,
        "registration": (-5, 7),
        "sessions": [
            (0, "09:00", "10:30", "Keynote: the flying rivers", "Auditorium",
             ["nogueira", "albuquerque"], ""),
            (1, "09:00", "10:30", "Glaciers, rivers and cities", "Auditorium",
             ["echeverria", "nogueira"], ""),
            (2, "14:00", "15:30", "Open data for climate adaptation", "Room 3",
             ["deshmukh", "nguyen"], ""),
        ],
    },
    {
        "slug": "green-hydrogen-clean-industry-forum",
        "title": "Green Hydrogen and Clean Industry Forum",
        "kind": EventKind.FORUM,
        "organisation": "atlantic-climate-research-consortium",
        "topics": ["climate-green-development"],
        "summary": "Can steel, cement and shipping run on clean hydrogen within a decade?",
        "description": (
            "Engineers, investors and city officials compare notes on the first large green "
            "hydrogen projects."
        ),
        "timezone": "America/New_York",
        "day": 27,
        "days": 2,
        "start": "09:30",
        "end": "17:00",
        "format": EventFormat.HYBRID,
        "venue_name": "Hudson Civic Forum Hall",
        "venue_address": "410 West 34th Street",
        "city": "New York",
        "country": "US",
        "latitude": 40.7536,
        "longitude": -73.9966,
        "online_url": "https://live.atlantic-climate.example.org/hydrogen",
        "capacity": 250,
        "registration": (-25, 1),
        "sessions": [
            (0, "09:30", "11:00", "Where hydrogen makes sense", "Hall 1",
             ["quintero", "goldberg"], ""),
            (0, "11:30", "13:00", "Solar fuels from the desert", "Hall 1", ["benali"], ""),
            (1, "09:30", "11:00", "Financing the first plants", "Hall 2",
             ["castellanos", "quintero"], ""),
        ],
    },
    {
        "slug": "ethics-of-gene-editing-lecture",
        "title": "The Ethics of Gene Editing: A Public Lecture",
        "kind": EventKind.LECTURE,
        "organisation": "world-science-cooperation-council",
        "topics": ["science-ethics"],
        "summary": "Who decides which genes we may change? An open lecture and discussion.",
        "description": (
            "A lecture for a general audience on consent, risk and fairness in gene editing, "
            "followed by a moderated discussion."
        ),
        "timezone": "America/New_York",
        "day": 5,
        "days": 1,
        "start": "19:00",
        "end": "20:30",
        "format": EventFormat.ONLINE,
        "online_url": "https://live.wscc.example.org/gene-editing",
        "country": None,
        "capacity": 1000,
        "registration": (-20, 0),
        "sessions": [
            (0, "19:00", "19:45", "Lecture", "", ["solheim"], ""),
            (0, "19:45", "20:30", "Discussion", "", ["solheim", "haddad"], ""),
        ],
    },
    {
        "slug": "open-data-climate-adaptation-workshop",
        "title": "Open Data for Climate Adaptation",
        "kind": EventKind.WORKSHOP,
        "organisation": "atlantic-climate-research-consortium",
        "topics": ["climate-green-development", "open-science"],
        "summary": "An online workshop on finding, cleaning and sharing climate data sets.",
        "description": (
            "Bring a laptop. We work through three public climate data sets and publish a "
            "small, reproducible analysis together."
        ),
        "timezone": "America/Sao_Paulo",
        "day": 14,
        "days": 1,
        "start": "10:00",
        "end": "13:00",
        "format": EventFormat.ONLINE,
        "online_url": "https://meet.atlantic-climate.example.org/open-data",
        "country": None,
        "capacity": 40,
        "registration": (-15, 1),
        "has_waiting_list": True,
        "sessions": [
            (0, "10:00", "11:30", "Finding and cleaning the data", "", ["nogueira", "nguyen"], ""),
            (0, "11:30", "13:00", "Publishing a reproducible analysis", "", ["deshmukh"], ""),
        ],
    },
    {
        "slug": "open-science-day-bengaluru",
        "title": "Open Science Day Bengaluru",
        "kind": EventKind.CONFERENCE,
        "organisation": "world-science-cooperation-council",
        "topics": ["open-science", "digital-economy"],
        "summary": "A free one-day gathering on open access, open data and open source.",
        "description": "Talks, demonstrations and a library of open tools. All day, free entry.",
        "timezone": "Asia/Kolkata",
        "day": 52,
        "days": 1,
        "all_day": True,
        "format": EventFormat.IN_PERSON,
        "venue_name": "Garden City Science Centre",
        "venue_address": "Cubbon Road 5",
        "city": "Bengaluru",
        "country": "IN",
        "latitude": 12.9763,
        "longitude": 77.5929,
        "capacity": None,
        "registration": None,
        "sessions": [
            (0, "10:00", "11:00", "Open access, ten years on", "Main hall", ["deshmukh"], ""),
            (0, "11:30", "12:30", "Sharing health data safely", "Main hall",
             ["raghunathan"], ""),
        ],
    },
    {
        "slug": "digital-trust-cybersecurity-conference",
        "title": "Digital Trust and Cybersecurity Conference",
        "kind": EventKind.CONFERENCE,
        "organisation": "world-science-cooperation-council",
        "topics": ["digital-economy", "science-ethics"],
        "summary": "Securing the systems a digital economy depends on.",
        "description": "Two days on secure software, algorithm audits and trustworthy AI.",
        "timezone": "Europe/Zurich",
        "day": -40,
        "days": 2,
        "start": "09:00",
        "end": "17:00",
        "format": EventFormat.IN_PERSON,
        "venue_name": "Limmat Science Hall",
        "venue_address": "Rämistrasse 71",
        "city": "Zurich",
        "country": "CH",
        "latitude": 47.3763,
        "longitude": 8.5481,
        "capacity": 300,
        "registration": (-90, 2),
        "sessions": [
            (0, "09:00", "10:30", "Auditing algorithms", "Hall A", ["kowalczyk"], ""),
            (1, "09:00", "10:30", "Secure software for critical infrastructure", "Hall A",
             ["rochat", "varga"], ""),
        ],
    },
    {
        "slug": "science-diplomacy-forum-shanghai",
        "title": "Science Diplomacy Forum",
        "kind": EventKind.FORUM,
        "organisation": "world-science-cooperation-council",
        "topics": ["connectivity", "open-science"],
        "summary": "How joint research keeps countries talking.",
        "description": (
            "Diplomats and scientists on large shared facilities, researcher mobility and "
            "data that crosses borders."
        ),
        "timezone": "Asia/Shanghai",
        "day": -90,
        "days": 2,
        "start": "09:00",
        "end": "17:00",
        "format": EventFormat.HYBRID,
        "venue_name": "Riverside Conference Hall",
        "venue_address": "88 Binjiang Avenue, Pudong",
        "city": "Shanghai",
        "country": "CN",
        "latitude": 31.2304,
        "longitude": 121.4737,
        "online_url": "https://live.wscc.example.org/diplomacy",
        "capacity": 500,
        "registration": (-150, 2),
        "sessions": [
            (0, "09:00", "10:30", "Shared telescopes, shared trust", "Hall 1",
             ["lin", "adebayo"], ""),
            (1, "09:00", "10:30", "Earthquake data across borders", "Hall 1", ["demir"], ""),
        ],
    },
    {
        "slug": "community-health-workers-summit",
        "title": "Community Health Workers Summit",
        "kind": EventKind.SUMMIT,
        "organisation": "lakeside-institute-global-health",
        "topics": ["public-health"],
        "summary": "The people who carry health care to the last mile.",
        "description": "A summit on training, pay and digital tools for community health workers.",
        "timezone": "Africa/Nairobi",
        "day": -15,
        "days": 2,
        "start": "08:30",
        "end": "16:30",
        "format": EventFormat.IN_PERSON,
        "venue_name": "Riverside Innovation Hub",
        "venue_address": "Riverside Drive 14",
        "city": "Nairobi",
        "country": "KE",
        "latitude": -1.2676,
        "longitude": 36.8108,
        "capacity": 200,
        "registration": (-60, 2),
        "sessions": [
            (0, "08:30", "10:00", "Surveillance from the ground up", "Main Stage",
             ["achieng"], ""),
            (1, "08:30", "10:00", "Digital tools that work offline", "Main Stage",
             ["raghunathan", "langat"], ""),
        ],
    },
    {
        "slug": "ocean-observation-summit",
        "title": "Ocean Observation Summit",
        "kind": EventKind.SUMMIT,
        "organisation": "atlantic-climate-research-consortium",
        "topics": ["climate-green-development"],
        "summary": "Buoys, gliders and satellites: watching the ocean warm.",
        "description": "A summit on sharing ocean observations between research fleets.",
        "timezone": "America/Halifax",
        "day": 60,
        "days": 2,
        "start": "09:00",
        "end": "17:00",
        "format": EventFormat.IN_PERSON,
        "venue_name": "Harbourfront Marine Centre",
        "venue_address": "1 Water Street",
        "city": "Halifax",
        "country": "CA",
        "latitude": 44.6488,
        "longitude": -63.5752,
        "capacity": 150,
        "registration": (-30, 3),
        "status": EventStatus.CANCELLED,
        "cancellation_reason": (
            "The venue is closed for repairs. The organisers will announce new dates soon."
        ),
        "sessions": [
            (0, "09:00", "10:30", "Marine heatwaves", "Harbour Room", ["lombardi", "goldberg"], ""),
        ],
    },
    {
        "slug": "science-ethics-roundtable",
        "title": "Science Ethics Roundtable",
        "kind": EventKind.WORKSHOP,
        "organisation": "world-science-cooperation-council",
        "topics": ["science-ethics"],
        "summary": "A closed-door roundtable, still being planned (draft).",
        "description": "Programme to be confirmed.",
        "timezone": "Europe/Zurich",
        "day": 120,
        "days": 1,
        "start": "10:00",
        "end": "16:00",
        "format": EventFormat.IN_PERSON,
        "venue_name": "Limmat Science Hall",
        "venue_address": "Rämistrasse 71",
        "city": "Zurich",
        "country": "CH",
        "latitude": 47.3763,
        "longitude": 8.5481,
        "capacity": 30,
        "registration": None,
        "status": EventStatus.DRAFT,
        "sessions": [],
    },
]
# fmt: on

ORGANISATION_SLUGS = tuple(o["slug"] for o in ORGANISATIONS)
TOPIC_SLUGS = tuple(t["slug"] for t in TOPICS)
EVENT_SLUGS = tuple(e["slug"] for e in EVENTS)
SPEAKER_NAMES = tuple(s[0] for s in SPEAKERS.values())


@dataclass
class DemoSummary:
    """What one `load_demo()` created; all zero when the demo was already there."""

    organisations: int = 0
    topics: int = 0
    events: int = 0
    sessions: int = 0
    speakers: int = 0
    skipped_events: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.organisations + self.topics + self.events + self.sessions + self.speakers

    def describe(self) -> str:
        if not self.total:
            return "The demonstration data is already loaded; nothing to do."
        return (
            f"Created {self.organisations} organisations, {self.topics} topics, "
            f"{self.events} events, {self.sessions} agenda sessions and "
            f"{self.speakers} speakers."
        )


def load_demo(now: datetime) -> DemoSummary:
    """Create the demo rows that are missing; existing ones are left as they are.

    Flushes, never commits (the caller owns the transaction).
    """
    summary = DemoSummary()
    session = db.session

    organisations = {o.slug: o for o in session.scalars(
        select(Organisation).where(Organisation.slug.in_(ORGANISATION_SLUGS))
    )}  # fmt: skip
    for values in ORGANISATIONS:
        if values["slug"] not in organisations:
            organisation = Organisation(**values)
            session.add(organisation)
            organisations[values["slug"]] = organisation
            summary.organisations += 1

    topics = {t.slug: t for t in session.scalars(select(Topic).where(Topic.slug.in_(TOPIC_SLUGS)))}
    for values in TOPICS:
        if values["slug"] not in topics:
            topic = Topic(**values)
            session.add(topic)
            topics[values["slug"]] = topic
            summary.topics += 1

    existing_events = set(session.scalars(select(Event.slug).where(Event.slug.in_(EVENT_SLUGS))))
    speakers: dict[str, Speaker] = {}
    by_name = {s.name: s for s in session.scalars(
        select(Speaker).where(Speaker.name.in_(SPEAKER_NAMES)).order_by(Speaker.id)
    )}  # fmt: skip

    def speaker_for(key: str) -> Speaker:
        if key not in speakers:
            name, affiliation, country, honours, bio = SPEAKERS[key]
            speaker = by_name.get(name)
            if speaker is None:
                speaker = Speaker(
                    name=name, affiliation=affiliation, country=country, honours=honours, bio=bio
                )
                session.add(speaker)
                summary.speakers += 1
            speakers[key] = speaker
        return speakers[key]

    for spec in EVENTS:
        if spec["slug"] in existing_events:
            summary.skipped_events.append(spec["slug"])
            continue
        event = _build_event(spec, now, organisations, topics, speaker_for)
        session.add(event)
        summary.events += 1
        summary.sessions += len(event.sessions)
        services.refresh_search_text(event)

    session.flush()
    return summary


def _build_event(
    spec: dict[str, Any],
    now: datetime,
    organisations: dict[str, Organisation],
    topics: dict[str, Topic],
    speaker_for: Any,
) -> Event:
    tz = spec["timezone"]
    first_day = timeutil.to_local(now, tz).date() + timedelta(days=spec["day"])
    last_day = first_day + timedelta(days=spec["days"] - 1)
    if spec.get("all_day"):
        starts_at, ends_at = timeutil.all_day_bounds(first_day, last_day, tz)
    else:
        starts_at = _at(first_day, spec["start"], tz)
        ends_at = _at(last_day, spec["end"], tz)

    status = spec.get("status", EventStatus.PUBLISHED)
    opens_at = closes_at = None
    if spec.get("registration"):
        # (opens: days from today, closes: days before the first day), in the event's zone
        opens_in, closes_before = spec["registration"]
        today = timeutil.to_local(now, tz).date()
        opens_at = _at(today + timedelta(days=opens_in), "09:00", tz)
        closes_at = min(_at(first_day - timedelta(days=closes_before), "23:59", tz), starts_at)

    event = Event(
        slug=spec["slug"],
        title=spec["title"],
        kind=spec["kind"],
        summary=spec["summary"],
        description=spec["description"],
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=tz,
        is_all_day=bool(spec.get("all_day")),
        venue_name=spec.get("venue_name", ""),
        venue_address=spec.get("venue_address", ""),
        city=spec.get("city", ""),
        country=spec.get("country"),
        latitude=spec.get("latitude"),
        longitude=spec.get("longitude"),
        format=spec["format"],
        online_url=spec.get("online_url"),
        status=status,
        cancellation_reason=spec.get("cancellation_reason", ""),
        capacity=spec.get("capacity"),
        registration_opens_at=opens_at,
        registration_closes_at=closes_at,
        has_waiting_list=spec.get("has_waiting_list", False),
        requires_approval=spec.get("requires_approval", False),
        organisation=organisations[spec["organisation"]],
        topics=[topics[slug] for slug in spec["topics"]],
        revision=1 if status == EventStatus.CANCELLED else 0,
        published_at=None if status == EventStatus.DRAFT else now - timedelta(days=30),
        created_at=now - timedelta(days=45),
    )
    for day, start, end, title, room, keys, description in spec["sessions"]:
        agenda_day = first_day + timedelta(days=day)
        agenda_session = AgendaSession(
            title=title,
            starts_at=_at(agenda_day, start, tz),
            ends_at=_at(agenda_day, end, tz),
            room=room,
            description=description,
        )
        for position, key in enumerate(keys):
            agenda_session.speaker_links.append(
                SessionSpeaker(speaker=speaker_for(key), position=position)
            )
        event.sessions.append(agenda_session)
    return event


def _at(day: date, hhmm: str, tz: str) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return timeutil.local_to_utc(datetime.combine(day, time(hours, minutes)), tz)


def demo_counts() -> dict[str, int]:
    """How many demo rows exist now (by their known slugs and names)."""
    session = db.session

    def count(model: Any, column: Any, values: tuple[str, ...]) -> int:
        return session.scalar(select(func.count()).select_from(model).where(column.in_(values)))

    return {
        "organisations": count(Organisation, Organisation.slug, ORGANISATION_SLUGS),
        "topics": count(Topic, Topic.slug, TOPIC_SLUGS),
        "events": count(Event, Event.slug, EVENT_SLUGS),
        "speakers": count(Speaker, Speaker.name, SPEAKER_NAMES),
    }


def clear_demo() -> int:
    """Delete the demo rows; return how many organisations, topics, events and speakers went.

    An organisation, topic or speaker that a non-demo event still uses is kept, so clearing
    never takes anyone's own data with it. Flushes, never commits.
    """
    session = db.session
    session.flush()
    demo_org_ids = select(Organisation.id).where(Organisation.slug.in_(ORGANISATION_SLUGS))
    event_ids = set(
        session.scalars(
            select(Event.id).where(
                Event.slug.in_(EVENT_SLUGS), Event.organisation_id.in_(demo_org_ids)
            )
        )
    )
    # Loaded copies of rows the database will remove by cascade leave the session with them
    # (looked at before the delete, while expired attributes can still be refreshed).
    loaded = list(session.identity_map.values())
    gone_sessions = {
        o.id for o in loaded if isinstance(o, AgendaSession) and o.event_id in event_ids
    }
    for obj in loaded:
        if (isinstance(obj, AgendaSession) and obj.id in gone_sessions) or (
            isinstance(obj, SessionSpeaker) and obj.session_id in gone_sessions
        ):
            session.expunge(obj)
    fetch = {"synchronize_session": "fetch"}
    # Agenda sessions, their speaker links, topic links and registrations go with the
    # event (ON DELETE CASCADE in the database).
    removed = session.execute(
        delete(Event).where(Event.id.in_(event_ids)), execution_options=fetch
    ).rowcount
    removed += session.execute(
        delete(Organisation).where(
            Organisation.slug.in_(ORGANISATION_SLUGS),
            ~exists().where(Event.organisation_id == Organisation.id),
        ),
        execution_options=fetch,
    ).rowcount
    removed += session.execute(
        delete(Topic).where(
            Topic.slug.in_(TOPIC_SLUGS),
            ~exists().where(event_topics.c.topic_id == Topic.id),
        ),
        execution_options=fetch,
    ).rowcount
    removed += session.execute(
        delete(Speaker).where(
            Speaker.name.in_(SPEAKER_NAMES),
            ~exists().where(SessionSpeaker.speaker_id == Speaker.id),
        ),
        execution_options=fetch,
    ).rowcount
    return removed
