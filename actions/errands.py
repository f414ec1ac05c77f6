"""Which point a question is about, so the answer is that point and not a whole page.

"harus lapor polisi dulu?", "bisa diwakilkan?", "naik busway turun mana?": the intent says
only "a question about requirements / location / fees"; the words say which fact is asked.
The answers are office facts (``office.yml`` "facts"), so staff keep them current.

Neighbouring errands (haji/umrah registration, KITAS and visas, SKCK, KTP/SIM) are told
where they are handled instead of starting a passport booking.
"""
from __future__ import annotations

import re

from actions.presenters import Reply
from actions.runtime import get_config

# Topic -> words that name it; the first topic that matches wins, so narrow topics first.
TOPICS: tuple[tuple[str, str], ...] = (
    ("priority", r"lansia|manula|lanjut usia|usia lanjut|jompo|sepuh|sudah tua|udah tua"
                 r"|orang tua (?:seperti|kayak|kaya) saya|orang tua saya (?:sudah )?(?:\d+|tua)"
                 r"|disabilitas|difabel|kursi roda|tuna\w*|cacat|balita|bayi|hamil|prioritas"
                 r"|antrian khusus|antrean khusus|jalur khusus|loket khusus"),
    ("police_report", r"lapor\w*\s*(?:ke\s*)?polisi|polsek|polres|surat\s*(?:keterangan\s*)?"
                      r"(?:kehilangan|hilang)|laporan polisi|surat polisi"),
    ("pickup_by_others", r"(?:ambil|ngambil|pengambilan|diambil)\w*.{0,30}(?:anak|orang lain|"
                         r"diwakil|wakil|keluarga|suami|istri|ortu)|(?:anak|orang lain|keluarga)"
                         r".{0,20}(?:ambil|ngambil|mengambil)"),
    ("representation", r"diwakil\w*|wakilkan|mewakili|perwakilan|titip\w*|surat kuasa|kuasa"
                       r"|orang lain|gantiin|digantikan"),
    ("passport_types", r"(?:beda|bedanya|perbedaan|lebih bagus|lebih baik|mending|pilih mana"
                       r"|kelebihan|difference)\w*"),
    ("fine", r"denda\w*|sanksi|kena biaya\s*(?:tambahan|lagi)"),
    ("pnbp", r"pnbp|apa itu pnbp"),
    ("payment", r"bayar\w*|pembayaran|transfer|briva|qris|billing|simponi|tunai|cash"
                r"|kartu kredit|debit"),
    ("copies", r"fotokopi\w*|fotocopy|foto\s*kopi|fc(?!\w)|photocopy|copy\w*|legalisir"
               r"|rangkap|yang asli|asli atau|asli gak|asli nggak"),
    ("breaks", r"istirahat|isoma|sholat jumat|jumatan|jam makan siang"),
    ("parking", r"parkir\w*"),
    ("transport", r"transjakarta|trans jakarta|busway|bus way|halte|krl|commuter|kereta|stasiun"
                  r"|angkot|ojol|ojek|gojek|grab|naik apa|turun (?:di )?mana|mrt|lrt|jaklingko"),
    ("late", r"telat|terlambat|kesiangan|late|ketinggalan jadwal|lewat jam|lewat jadwal"),
    ("walk_in", r"walk[\s-]?in|tanpa (?:antri|antre|daftar|booking)\w*|langsung datang|harus daftar"
                r"|perlu daftar|wajib daftar|need (?:to make )?an appointment|appointment first"),
    ("renewal", r"perpanjang\w*|panjangin|renew\w*"),
    ("waiting", r"antri\w* berapa lama|lama antri\w*|nunggu berapa lama|lama nunggu"
                r"|waktu tunggu|berapa lama (?:di|dikantor|prosesnya di)"),
    ("contact", r"nomor (?:telepon|telp|tlp|hp|wa|whatsapp|kantor)|no\.? ?(?:telp|tlp|hp|wa)"
                r"|kontak|contact|hotline|call center|email kantor"),
    ("processing_time", r"hari itu juga|hari yang sama|hari yg sama|sehari jadi|same day|kilat"
                        r"|percepatan|ekspres|express|berapa lama|brp lama|kapan jadi\w*"
                        r"|berapa hari\w*|jadinya kapan"
                        r"|lama jadi\w*|selesai kapan|jadi berapa hari"),
)
_TOPIC_RES = tuple((name, re.compile(rf"(?<!\w)(?:{words})", re.I)) for name, words in TOPICS)

_ERRANDS: tuple[tuple[str, str], ...] = (
    ("errand_hajj", r"haji|umrah|umroh|ibadah haji|porsi haji"),
    ("errand_foreigner", r"kitas|kitap|izin tinggal|ijin tinggal|visa on arrival|voa"
                         r"|wna|warga negara asing|expat|foreigner"),
    ("errand_visa", r"visa(?!\w)|schengen|vfs|tls\s*contact"),
    ("errand_police", r"skck|catatan kepolisian|kelakuan baik"),
    ("errand_civil", r"(?<![\w-])(?:ktp|e-ktp|ektp|kk|kartu keluarga|akta|akte|sim(?!\w)|stnk"
                     r"|bpjs|npwp)(?!\w)"),
)
_ERRAND_RES = tuple((name, re.compile(rf"(?<!\w)(?:{words})", re.I)) for name, words in _ERRANDS)
_PASSPORT = re.compile(r"paspor|pasport|passport|pspr", re.I)


_A_PERSON = re.compile(
    r"(?<!\w)(?:(?:ngomong|ngobrol|bicara|berbicara|chat|chatting|hubung\w*|sambung\w*|terus\w*"
    r"|telp|telepon|telpon|minta|mau|pengen|ingin|butuh)\s+(?:\w+\s+){0,3}?(?:orang|manusia"
    r"|petugas|admin\w*|cs|customer service|operator|pegawai|staf|staff)(?!\w)"
    r"|(?:admin|adminnya|cs|csnya|cs nya|petugasnya|operatornya)\s*(?:mana|dimana|di mana|ada)"
    r"|orang asli|orang beneran|manusia beneran|jangan (?:robot|bot)|bukan (?:robot|bot)"
    r"|real person|human agent|talk to (?:a )?(?:human|person|staff))", re.I)


_PASSPORT_NEED = re.compile(r"(?<!\w)(?:hilang|ilang|rusak|robek|sobek|basah|banjir|penuh|habis"
                            r"|abis|expired?|kadaluar?sa|perpanjang\w*|ganti|bikin|buat|urus"
                            r"|daftar|antri\w*|baru|renew\w*|new|lost|damaged|book\w*|appointment"
                            r"|apply|make)(?!\w)", re.I)


# Words that ask for a booking, also as a question ("Can I book an appointment?").
BOOKING_WORDS = re.compile(r"(?<!\w)(?:daftar\w*|antri\w*|antre\w*|booking|book\w*|appointment"
                           r"|pesan)(?!\w)", re.I)


def mentions_a_passport_need(text: str) -> bool:
    """Whether a passport need is named ("paspor saya halamannya penuh, mau ganti").

    It is a booking the model did not recognise.
    """
    return bool(_PASSPORT.search(text) and _PASSPORT_NEED.search(text)
                and not neighbouring_errand(text))


def wants_a_person(text: str) -> bool:
    """Whether the applicant asks for staff ("mau ngomong sama orang aja", "adminnya mana")."""
    return bool(_A_PERSON.search(text))


_PRICE_OR_DOCUMENTS = re.compile(r"(?<!\w)(?:biaya\w*|harga\w*|berapa|brp|bayar\w*|tarif|syarat\w*"
                                 r"|dokumen\w*|bawa|how much|price|cost)(?!\w)", re.I)


def topic_of(text: str) -> str | None:
    """The office fact a question is about, or None for the intent's general answer."""
    for name, pattern in _TOPIC_RES:
        if pattern.search(text):
            return name
    return None


def fact_reply(topic: str) -> Reply | None:
    """The office's answer on ``topic``, if the office configuration has one."""
    fact = get_config().facts.get(topic)
    return Reply("utter_fact", {"fact": fact}) if fact else None


def neighbouring_errand(text: str) -> Reply | None:
    """Where an errand that is not a passport is handled ("daftar haji", "bikin SKCK").

    A passport *for* such an errand ("paspor buat umroh") is a passport booking.
    """
    if _PASSPORT.search(text) and not re.search(r"visa|kitas|kitap", text, re.I):
        return None
    for name, pattern in _ERRAND_RES:
        if pattern.search(text):
            return fact_reply(name)
    return None


def question_topic_reply(text: str, intent: str) -> Reply | None:
    """The fact a question asks about: a neighbouring errand first, then the topics.

    "kk" and "akta" are named in document questions ("perlu bawa kk?"), so the errand check
    applies only to questions that are not about documents.
    """
    if intent not in ("ask_requirements",):
        errand = neighbouring_errand(text)
        if errand is not None:
            return errand
    topic = topic_of(text)
    if topic == "passport_types" and not re.search(r"elektronik|biasa|e-?paspor|chip", text,
                                                   re.I):
        topic = None
    # "perpanjang paspor biayanya berapa?", "syarat perpanjang apa": the fees or the
    # documents are the point, not what "perpanjang" means.
    if topic == "renewal" and (intent in ("ask_fee", "ask_requirements", "book_queue")
                               or _PRICE_OR_DOCUMENTS.search(text)):
        topic = None
    return fact_reply(topic) if topic else None
