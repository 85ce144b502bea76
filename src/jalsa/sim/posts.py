"""Generated X posts for conversation analytics tests and benchmarks.

A rally-shaped stream of posts in English, Roman Urdu and Urdu script with the features a
conversation pipeline must cope with: a volume curve over the event, authors with Zipf-like
activity, Zipf-popular hashtags, about 40% reposts plus replies and quotes, heavy-tailed public
metrics, trend bursts of a few hashtags at known minutes, and one coordinated campaign of
known accounts (created together days before the event, posting near-identical text in short
windows, some at inhuman rates). Organic users also repeat the same slogans, so a
coordination detector meets realistic false positives. `ground_truth` says what was injected.

How it stays fast and flat in memory for tens of millions of posts:

* A small *plan* (per second of the event: how many posts of each component) is drawn once
  from the seed. Posts are numbered 0..count-1 in time order (second by second).
* Every attribute of post `j` (its time, author, kind, text, hashtags, metrics, ...) is a
  pure function of `(seed, j)` through a counter-based hash, computed with numpy for a whole
  batch at once. So a repost can show the text and author of the post it reposts without
  keeping any earlier post, batches can be made in any order, and `ground_truth` needs only
  the plan.
* Texts are assembled by Arrow kernels (`take` from word pools, element-wise joins), and
  batches are made two at a time on threads (numpy and Arrow release the GIL). Peak memory
  is about 2 KB per row of `batch_rows` per thread, whatever the count.

Choices worth knowing:

* `lang` is what X would say: "en", "ur" for Urdu script, and "und" for Roman Urdu (X has no
  code for it and usually cannot tell).
* Ids are X snowflakes: milliseconds since the X epoch << 22 | 22 bits unique within the
  millisecond, so they grow with time. `created_at` is kept to the millisecond, as X gives it.
* A repost's text is "RT @handle: " + the original text (never truncated here: originals
  are short), its hashtags/urls are the original's, its mentions start with the original
  author, and like/reply/quote/view counts are 0 while repost_count is the original's — as X
  API v2 reports retweets.
* x-jsonl pages come newest first, as the search API pages; tweets carry the default
  `edit_history_tweet_ids` and `public_metrics.bookmark_count` (0) as X returns them, and
  entity offsets count code points (Python string indices).
"""

from __future__ import annotations

import math
import os
import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray

from jalsa.platforms.post_record import POST_SCHEMA

I64 = NDArray[np.int64]
U64 = NDArray[np.uint64]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]

DEFAULT_START = datetime(2023, 12, 17, 14, 0, tzinfo=UTC)  # 19:00 in Pakistan
SOURCE = "sim:posts"
PAGE_SIZE = 100  # tweets per X API v2 search page (max_results=100)
X_EPOCH_MS = 1288834974657  # the snowflake epoch of X ids
MAX_HOURS = 7 * 24

ORIGINAL, REPOST, REPLY, QUOTE = 0, 1, 2, 3
ORGANIC, BURST, CAMPAIGN, HYPER = 0, 1, 2, 3  # what put a post into the stream
LANGS = ("en", "und", "ur")  # English, Roman Urdu, Urdu script
_LANG_WEIGHTS = (0.40, 0.38, 0.22)

# ----------------------------------------------------------------------------------------
# Vocabulary: hashtags, handles, names and text templates (the same for every seed).
# ----------------------------------------------------------------------------------------

# fmt: off
_TOP_TAGS = ["PTI", "VirtualJalsa", "ImranKhan", "Pakistan", "Elections2024", "PTIVirtualJalsa",
    "ImranKhanZindabad", "PakistanZindabad", "ReleaseImranKhan", "Insaf", "PakistanElections2024",
    "GeneralElections2024", "VoteForPTI", "NayaPakistan", "PTIJalsa", "KhanKaJalsa",
    "IKForPakistan", "QaidiNo804", "InternetShutdown", "KeepItOn", "XDown", "TwitterDown",
    "Lahore", "Karachi", "Islamabad", "Peshawar", "Rawalpindi", "Quetta", "Multan", "Faisalabad",
    "OverseasPakistanis", "PTIOverseas", "YouthWithKhan", "JalsaLive", "OnlineJalsa",
    "DigitalJalsa", "Election2024", "PakistanVotes", "FairElections", "LevelPlayingField",
    "BatSymbol", "Balla", "Democracy", "FreedomOfExpression", "VPN", "SocialMedia", "YouTubeLive",
    "FacebookLive", "XSpaces", "Jalsa", "Kaptaan", "IKSpeech", "BreakingNews", "Pakistani",
    "Dec17", "PTIZindabad", "WeStandWithImranKhan", "StandWithKhan", "KhanIsOurRedLine",
    "HaqeeqiAzadi", "PakistanWithKhan", "KhanForPakistan", "InsafForAll"]
# fmt: on

# fmt: off
_TAG_HEADS = ["Karachi", "Lahore", "Islamabad", "Peshawar", "Quetta", "Multan", "Faisalabad",
    "Rawalpindi", "Sialkot", "Gujranwala", "Hyderabad", "Sukkur", "Abbottabad", "Mardan", "Swat",
    "Bannu", "DIKhan", "Gilgit", "Skardu", "Muzaffarabad", "Mirpur", "Bahawalpur", "Sargodha",
    "Sahiwal", "Jhelum", "Gujrat", "Okara", "Kasur", "Chitral", "Turbat", "Gwadar", "Larkana",
    "Nawabshah", "Mianwali", "Attock", "Chakwal", "Dubai", "London", "Toronto", "Houston",
    "Jeddah", "Riyadh", "Doha", "Manchester", "Birmingham", "Sydney", "NewYork", "Chicago", "Oslo",
    "Paris", "Youth", "Women", "Students", "Overseas", "Insafians", "Tigers", "Nation", "Awam",
    "Jawan", "Punjab", "Sindh", "KPK", "Balochistan"]
# fmt: on

# fmt: off
_TAG_TAILS = ["WithKhan", "StandsWithKhan", "ForPTI", "Jalsa", "WantsKhan", "LovesKhan",
    "ForImranKhan", "Zindabad", "IsWatching", "WithImran", "ForPakistan", "VotesPTI", "Rally",
    "Live", "Tonight", "ForJustice", "ForInsaf", "Speaks", "Rising", "United", "ForChange",
    "Online", "Connected", "Unites", "Voice", "Power", "Decides", "Awake", "Trends", "Marches"]
# fmt: on

# fmt: off
_CURATED_HANDLES = ["ImranKhanPTI", "PTIofficial", "InsafPK", "PTI_Youth", "PTIKarachi",
    "PTILahore", "PTIPeshawar", "PTIIslamabad", "JalsaUpdates", "InsafMediaCell", "PTISocialMedia",
    "ISF_Official", "PTIOverseasUK", "PTIUSA_Official", "KhanKaSipahi", "Insafian_Voice",
    "NayaPakistanNow", "PakVotes2024", "ElectionWatchPK", "NetWatchPK", "PakNewsLive",
    "UrduNewsNow", "KhabarLive", "SiyasatPK", "AwaamKiAwaz", "LahoreUpdates", "KarachiDesk",
    "PindiNews", "PeshawarToday", "QuettaVoice", "MultanNama", "TheInsafian", "KaptaanFan",
    "ProudPakistani", "YouthForKhan", "TigerForce_PK", "OverseasInsaf", "PTIWomenWing", "PTI_KPK",
    "PTI_Punjab", "PTI_Sindh", "PTIBalochistan", "SochPK", "DigitalJalsaPK",
    "ElectionCellPK", "FactCheckPK", "SpacesHostPK", "LiveFromPak", "PakistanFirst7",
    "VoiceOfAwam", "HumKhanKeSath", "JawanPakistan", "InsafStudents", "WatchJalsa", "StreamDeskPK",
    "NaujawanPK", "DemocracyPK", "RallyDeskPK", "AwamiNews", "BreakingUrdu"]
# fmt: on

# fmt: off
_FIRST = ["Ali", "Ahmed", "Usman", "Hamza", "Bilal", "Ayesha", "Fatima", "Sana", "Zainab", "Hira",
    "Maryam", "Imran", "Faisal", "Asad", "Saad", "Omer", "Umar", "Hassan", "Hussain", "Zain",
    "Fahad", "Kashif", "Adeel", "Waqas", "Shahid", "Tariq", "Naveed", "Junaid", "Rizwan", "Salman",
    "Kamran", "Noman", "Shoaib", "Arslan", "Haris", "Talha", "Danish", "Sohail", "Farhan", "Irfan",
    "Zeeshan", "Shehzad", "Amir", "Nadia", "Sadia", "Rabia", "Saima", "Mehwish", "Amna", "Iqra",
    "Anum", "Laiba", "Kiran", "Sidra", "Bushra", "Asma", "Nida", "Hina", "Sobia", "Maham",
    "Areeba", "Alina", "Zara", "Khadija", "Mahnoor", "Rida", "Samina", "Uzma", "Farah", "Shazia",
    "Abdullah", "Ibrahim", "Yousuf", "Moiz", "Awais", "Ammar", "Raza", "Babar", "Azhar", "Nasir",
    "Wasim", "Sajid", "Majid", "Tahir", "Akbar", "Jawad", "Haider", "Mohsin", "Qasim", "Sami",
    "Rehan", "Adnan", "Aqib", "Owais", "Sharjeel", "Mubashir", "Daniyal", "Huma", "Sara", "Esha",
    "Noor", "Aleena", "Minahil", "Hafsa", "Ramsha", "Mariam", "Sumbul", "Ghazala", "Tayyaba",
    "Fiza", "Javeria", "Saba"]
# fmt: on

# fmt: off
_LAST = ["Khan", "Ahmed", "Malik", "Butt", "Chaudhry", "Qureshi", "Sheikh", "Raza", "Shah",
    "Hussain", "Abbasi", "Niazi", "Afridi", "Khattak", "Durrani", "Gillani", "Bhatti", "Awan",
    "Rana", "Mirza", "Baig", "Siddiqui", "Hashmi", "Javed", "Iqbal", "Akhtar", "Aslam", "Anwar",
    "Rehman", "Zaidi", "Naqvi", "Jutt", "Cheema", "Gondal", "Warraich", "Marwat", "Bangash",
    "Mengal", "Baloch", "Soomro", "Memon", "Shaikh", "Kiani", "Tiwana", "Lodhi", "Yousafzai",
    "Mughal", "Ansari", "Farooqi", "Rizvi", "Kazmi", "Bukhari", "Jamali", "Leghari", "Mazari",
    "Tareen", "Wazir", "Swati"]
# fmt: on

_HANDLE_STYLES = ("{F}{L}", "{F}_{L}", "{l}_{f}", "_{F}{L}", "{F}{L}_", "{L}{F}")
# fmt: off
_HANDLE_EXTRAS = ["Insafian_{F}", "{F}_PTI", "{F}PTI", "{F}_Insafi", "Kaptaan_{F}", "{F}Khan_",
    "PTI_{F}", "{F}_Official", "{F}Speaks", "Real{F}", "Iam{F}", "{F}_Tweets", "{F}_Pak",
    "{F}Pakistani"]
# fmt: on

_NAME_SUFFIXES = ("", "", "", "", "", " 🇵🇰", " 🏏", " (PTI)", " ✌️", " 💚", " | Insafian")

# Word pools for the templates. Latin city names serve English and Roman Urdu alike.
# Slogans are repeated to weight them.
# fmt: off
_POOLS: dict[str, list[str]] = {
    "city": ["Karachi", "Lahore", "Islamabad", "Peshawar", "Quetta", "Multan", "Faisalabad",
        "Rawalpindi", "Sialkot", "Gujranwala", "Hyderabad", "Sukkur", "Abbottabad", "Mardan",
        "Swat", "Bannu", "Gilgit", "Skardu", "Muzaffarabad", "Mirpur", "Bahawalpur", "Sargodha",
        "Sahiwal", "Jhelum", "Gujrat", "Okara", "Kasur", "Chitral", "Gwadar", "Larkana",
        "Mianwali", "Attock", "Chakwal", "Dubai", "London", "Toronto", "Houston", "Jeddah",
        "Riyadh", "Doha", "Manchester", "Birmingham", "Sydney", "Chicago", "Oslo"],
    "end": ["", "", "!", "!!", ".", " 🇵🇰", " 🔥", " 💚", " ❤️", " 🙌", " 👏", " 💯", "...",
        " ✌️", " 🏏",
        "!!!", " 🇵🇰🇵🇰", " 😍"],
    "intro": ["", "", "Wow! ", "Unreal. ", "Proud moment: ", "Look at this: ", "Honestly, ",
        "History tonight: ", "Alhamdulillah, ", "Goosebumps. ", "Can't believe it, ", "Right now ",
        "Update: "],
    "crowd": ["millions", "my whole family", "all my friends", "everyone in my street",
        "half of my office", "our entire hostel", "people across Pakistan", "overseas Pakistanis",
        "students everywhere", "my parents", "the youth", "the whole neighbourhood",
        "thousands of us", "our mohalla", "every Pakistani I know", "my grandparents",
        "the diaspora", "whole villages"],
    "watch": ["are watching", "are glued to", "tuned in to", "are following", "are streaming",
        "joined", "are sharing", "can't stop watching", "are live on", "logged in to"],
    "event": ["the virtual jalsa", "the online jalsa", "the PTI jalsa", "Khan's speech",
        "the livestream", "the rally", "the jalsa on YouTube", "the jalsa on X", "the Space",
        "the digital jalsa", "this historic jalsa", "the first virtual rally",
        "the jalsa on Facebook", "the live jalsa"],
    "when": ["tonight", "right now", "live", "at this moment", "as we speak", "this evening",
        "from home", "on my phone", "on a VPN", "on the big screen"],
    "company": ["my family", "friends", "my brothers", "my ammi", "my abbu", "the whole family",
        "colleagues", "my kids", "cousins", "hostel mates", "neighbours", "my wife", "my husband",
        "classmates", "my sisters", "the whole street"],
    "reaction": ["The energy is unreal", "Never seen anything like this", "This is history",
        "What a turnout", "Nobody can stop this", "The nation has spoken",
        "This is what democracy looks like", "Khan is not alone", "Pakistan is awake",
        "The world is watching", "Unbelievable numbers", "So emotional", "Proud to be here",
        "Best night in years", "Tears in my eyes", "The youth is here"],
    "platform": ["X", "Twitter", "YouTube", "Facebook", "The internet", "Mobile data", "My wifi",
        "PTCL", "Jazz internet", "Zong 4G", "The stream", "Instagram"],
    "problem": ["is down", "is so slow", "keeps buffering", "is blocked", "stopped working",
        "is throttled", "keeps dropping", "barely loads", "is crawling"],
    "resolve": ["we are still watching", "VPN is on and we are in", "nothing can stop us",
        "the jalsa goes on", "I'm watching on a VPN", "we found another way",
        "the people are still here", "millions are still online", "Khan's voice reaches everyone",
        "we will keep watching", "my phone hotspot works"],
    "number": ["1", "2", "3", "5", "10", "15", "Half a", "Over 2", "More than 5", "Almost 4",
        "Nearly 8", "At least 3"],
    "unit": ["million", "lakh", "crore", "hundred thousand"],
    "viewers": ["people watching", "viewers", "Pakistanis online", "people streaming",
        "supporters live", "people tuned in"],
    "platform2": ["YouTube", "Facebook", "X", "all platforms", "TikTok", "the X Space",
        "Instagram", "every app"],
    "quote": ["We will not bow down", "Pakistan belongs to its people", "Vote is your right",
        "Stay peaceful, stay united", "The youth is our strength", "Justice for all",
        "Never give up", "Your vote decides your future", "We will rebuild Pakistan",
        "Don't let anyone silence you", "This nation is awake", "Fear nothing"],
    "reaction2": ["Goosebumps", "So true", "Powerful words", "Exactly", "100% agree",
        "What a message", "Every word matters", "Listen carefully", "Share this", "Truth"],
    "live": ["", "Right now ", "Just now ", "At the jalsa ", "Live: ", "Listen: "],
    "greeting": ["Salam", "Hello", "Assalam o Alaikum", "Good evening", "Hey", "Dear"],
    "call": ["Join the", "Don't miss the", "Share the", "Log in to", "Be part of the",
        "Spread the word about", "Tune in to"],
    "event2": ["virtual jalsa", "jalsa", "livestream", "rally", "digital jalsa", "X Space",
        "online jalsa"],
    "intro_ru": ["", "", "Masha Allah ", "Wah ", "Dekho ", "Subhan Allah ", "Yaar ", "Bhai ",
        "Aaj ", "Alhamdulillah ", "Zabardast, "],
    "crowd_ru": ["hum sab", "poori family", "saare dost", "poora mohalla", "poora ghar",
        "hostel ke larke", "office wale", "ammi abbu", "bachay", "sab log", "hazaron log",
        "naujawan", "bhai log", "behnein", "gaon wale"],
    "event_ru": ["jalsa", "virtual jalsa", "Khan ki taqreer", "live stream", "online jalsa",
        "Khan ka khitaab", "PTI ka jalsa", "jalsa live"],
    "problem_ru": ["band hai", "bohat slow hai", "chal nahi raha", "baar baar ruk raha hai",
        "block kar diya", "atak raha hai", "bilkul nahi chal raha"],
    "resolve_ru": ["VPN laga ke dekh rahe hain", "hum phir bhi dekh rahe hain",
        "awaaz koi nahi rok sakta", "jalsa chalta rahega", "koi farq nahi parta", "hum yahin hain",
        "qaum jaag chuki hai", "Khan ki awaaz pohanch rahi hai", "hotspot se chala rahe hain"],
    "quote_ru": ["Ghabrana nahi hai", "Hum ghulam nahi", "Vote tumhari taqat hai",
        "Pakistan ke naujawan jaag gaye hain", "Insaaf sab ke liye", "Qaum ek hai",
        "Haqeeqi azadi", "Apna vote zaroor dena", "Hosla rakhna"],
    "reaction_ru": ["Zabardast", "Kya baat hai", "Bilkul sahi", "Rongtay kharay ho gaye",
        "Dil jeet liya", "Sach kaha", "Lajawab", "Yehi haqeeqat hai"],
    "number_ru": ["10 lakh", "20 lakh", "50 lakh", "1 crore", "Lakhon", "Karoron", "Hazaron",
        "5 lakh", "2 crore", "Bohat saare"],
    "greeting_ru": ["Salam", "Assalam o Alaikum", "Suno", "Chalo", "Bhaiyo aur behno"],
    "call_ru": ["aaj raat jalsa zaroor dekhna", "sab log online aa jao", "jalsa share karo",
        "VPN tayyar rakho", "Khan ka saath do", "ghar walon ko bhi dikhao", "X pe trend chalao",
        "YouTube pe live aa jao", "Space join karo"],
    "intro_ur": ["", "", "ماشاءاللہ ", "سبحان اللہ ", "آج ", "الحمدللہ ", "واہ "],
    "city_ur": ["کراچی", "لاہور", "اسلام آباد", "پشاور", "کوئٹہ", "ملتان", "فیصل آباد", "راولپنڈی",
        "سیالکوٹ", "گوجرانوالہ", "حیدرآباد", "سکھر", "ایبٹ آباد", "مردان", "سوات", "بنوں", "گلگت",
        "مظفرآباد", "میرپور", "بہاولپور", "سرگودھا", "ساہیوال", "جہلم", "گجرات", "میانوالی",
        "دبئی", "لندن", "ٹورنٹو", "جدہ", "ریاض"],
    "crowd_ur": ["ہم سب", "پورا خاندان", "سارے دوست", "پورا محلہ", "نوجوان", "لاکھوں لوگ",
        "ہزاروں لوگ", "بچے اور بڑے", "امی ابو", "سب گھر والے"],
    "event_ur": ["جلسہ", "ورچوئل جلسہ", "خان کی تقریر", "آن لائن جلسہ", "لائیو جلسہ",
        "خان کا خطاب"],
    "platform_ur": ["انٹرنیٹ", "ایکس", "ٹویٹر", "یوٹیوب", "فیس بک", "موبائل ڈیٹا"],
    "problem_ur": ["بند ہے", "بہت سست ہے", "نہیں چل رہا", "بار بار رک رہا ہے"],
    "resolve_ur": ["ہم پھر بھی دیکھ رہے ہیں", "وی پی این لگا کر دیکھ رہے ہیں",
        "آواز کوئی نہیں روک سکتا", "جلسہ جاری رہے گا", "قوم جاگ چکی ہے"],
    "quote_ur": ["گھبرانا نہیں ہے", "ہم غلام نہیں", "ووٹ آپ کی طاقت ہے", "انصاف سب کے لیے",
        "قوم ایک ہے", "حقیقی آزادی"],
    "reaction_ur": ["زبردست", "کیا بات ہے", "بالکل سچ", "دل جیت لیا", "لاجواب"],
    "number_ur": ["دس لاکھ", "بیس لاکھ", "پچاس لاکھ", "ایک کروڑ", "لاکھوں", "کروڑوں", "ہزاروں"],
    "slogan_en": ["We stand with Imran Khan", "We stand with Imran Khan",
        "We stand with Imran Khan", "Free Imran Khan", "Free Imran Khan", "Long live Imran Khan",
        "Pakistan stands with Khan", "Khan is our red line", "One nation, one leader"],
    "slogan_ru": ["Imran Khan Zindabad", "Imran Khan Zindabad", "Imran Khan Zindabad",
        "Imran Khan Zindabad", "Imran Khan Zindabad", "Imran Khan Zindabad", "Pakistan Zindabad",
        "Pakistan Zindabad", "Pakistan Zindabad", "Kaptaan Zindabad", "PTI Zindabad",
        "Khan hamari red line hai", "Ghabrana nahi hai", "Har ghar se Khan niklega",
        "Hum Khan ke saath hain"],
    "slogan_ur": ["عمران خان زندہ باد", "عمران خان زندہ باد", "عمران خان زندہ باد",
        "پاکستان زندہ باد", "پاکستان زندہ باد", "ہم خان کے ساتھ ہیں", "گھبرانا نہیں ہے"],
    "bang": ["", "", "", "!", "!!", " 🇵🇰", "!!!", " ❤️"],
    "cnum": ["5", "10", "20", "50", "100"],
    "cpunct": ["", "!", "!!", "!!!", " !", "."],
    "cemoji": ["", "", " 🇵🇰", " 🔥", " 💚", " ✌️", " 🇵🇰🇵🇰"],
    "csep": ["", "", " ", "  ", " ."],
}
# fmt: on

# (text, language, kind, weight). kind: "post" (varied), "slogan" (repeated), "campaign".
_TEMPLATES: list[tuple[str, str, str, float]] = [
    ("{intro}{crowd} {watch} {event} {when}{end}", "en", "post", 3),
    ("Watching from {city} with {company}. {reaction}{end}", "en", "post", 3),
    ("{platform} {problem} in {city} but {resolve}{end}", "en", "post", 2),
    ("{number} {unit} {viewers} on {platform2} {when}. {reaction}{end}", "en", "post", 2),
    ('{live}Khan\'s speech: "{quote}" {reaction2}{end}', "en", "post", 2),
    ("{greeting} {city}! {call} {event2} {when}{end}", "en", "post", 1.5),
    ("{slogan_en}{bang}", "en", "slogan", 2),
    ("{intro_ru}{city} se {crowd_ru} {event_ru} dekh rahe hain{end}", "und", "post", 3),
    ("{platform} {city} mein {problem_ru} lekin {resolve_ru}{end}", "und", "post", 2),
    ('{city} se: Khan ne kaha "{quote_ru}" {reaction_ru}{end}', "und", "post", 2),
    (
        "{number_ru} log is waqt {event_ru} dekh rahe hain {platform2} pe. {reaction_ru}{end}",
        "und",
        "post",
        2,
    ),
    ("{greeting_ru} {city} walo! {call_ru}{end}", "und", "post", 1.5),
    ("{slogan_ru}{bang}", "und", "slogan", 2.5),
    ("{intro_ur}{city_ur} سے {crowd_ur} {event_ur} دیکھ رہے ہیں{end}", "ur", "post", 3),
    ("{city_ur} میں {platform_ur} {problem_ur} لیکن {resolve_ur}{end}", "ur", "post", 2),
    ("{city_ur} سے: خان نے کہا {quote_ur}، {reaction_ur}{end}", "ur", "post", 1.5),
    ("{city_ur} سے {number_ur} لوگ اس وقت {event_ur} دیکھ رہے ہیں{end}", "ur", "post", 1.5),
    ("{slogan_ur}{bang}", "ur", "slogan", 1.5),
    # The coordinated campaign's templates (a trailing hashtag is added to each post).
    (
        "Pakistan is watching! {cnum} million strong for Imran Khan at the #VirtualJalsa"
        "{cpunct}{cemoji}{csep}",
        "en",
        "campaign",
        0,
    ),
    (
        "Poori qaum Khan ke saath hai, {cnum} lakh log live hain #PTIVirtualJalsa"
        "{cpunct}{cemoji}{csep}",
        "und",
        "campaign",
        0,
    ),
    (
        "پوری قوم عمران خان کے ساتھ ہے، {cnum} لاکھ لوگ جلسے میں #VirtualJalsa"
        "{cpunct}{cemoji}{csep}",
        "ur",
        "campaign",
        0,
    ),
    (
        "The world has never seen a rally like this. {cnum} million online for Khan #ImranKhan"
        "{cpunct}{cemoji}{csep}",
        "en",
        "campaign",
        0,
    ),
]
_CAMPAIGN_TRAIL_TAGS = ("PTI", "Pakistan", "Elections2024", "ImranKhanZindabad", "KhanKaJalsa")

_URL_KINDS = (
    ("https://www.youtube.com/watch?v={yt}", 90),
    ("https://www.facebook.com/PTIofficial/videos/{num}", 50),
    ("https://x.com/i/spaces/1{sp}", 20),
    ("https://insaf.pk/news/{slug}", 40),
    ("https://www.dawn.com/news/17{n6}", 40),
    ("https://tribune.com.pk/story/24{n6}/{slug}", 40),
    ("https://www.geo.tv/latest/5{n5}-{slug}", 20),
)
# fmt: off
_SLUG_WORDS = ["pti", "virtual", "jalsa", "imran", "khan", "internet", "social", "media",
    "platforms", "restricted", "nationwide", "rally", "record", "viewers", "elections", "2024",
    "speech", "youtube", "live", "outage"]
# fmt: on

_ALNUM = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)


@dataclass(frozen=True)
class _Vocab:
    pieces: pa.Array  # every filled pair of slots of every template
    slots: int  # slots per template (even; unused ones have a pool of one "")
    piece_offset: I64  # (templates, slots / 2) first piece of each pair
    slot_size: I64  # (templates, slots) size of the slot's word pool
    template_lang: I64
    template_kind: I64  # 0 post, 1 slogan, 2 campaign
    inline_tags: I64  # (templates, 2) hashtag ids written in the template, -1 if none
    organic: tuple[tuple[I64, F64], ...]  # per language: template ids and cumulative weights
    campaign: I64  # template ids of the campaign
    campaign_texts: tuple[str, ...]
    trail_tags: I64
    tag_display: pa.Array
    tag_lower: pa.Array
    tag_piece: pa.Array  # " #Display"; the last entry is "" (no tag)
    tag_cdf: F64
    handle_words: pa.Array
    curated: pa.Array
    member_words: pa.Array
    first: pa.Array
    last: pa.Array
    name_suffix: pa.Array
    urls: pa.Array
    url_cdf: F64


def _zipf_cdf(n: int, s: float) -> F64:
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


@lru_cache(maxsize=1)
def _vocab() -> _Vocab:
    # Hashtags: realistic ones first (most popular), then city/theme combinations.
    tags = list(_TOP_TAGS)
    seen = {t.lower() for t in tags}
    extra = [h + t for h in _TAG_HEADS for t in _TAG_TAILS if (h + t).lower() not in seen]
    order = np.random.default_rng(2023).permutation(len(extra))
    tags += [extra[i] for i in order[: 2000 - len(tags)]]
    tag_id = {t.lower(): i for i, t in enumerate(tags)}

    # A template is literals around slots filled from word pools. Slots go in pairs, and each
    # pair's pool holds every "literal word literal word" it can produce, so a body is three
    # lookups and one join whatever the template.
    parsed = [re.split(r"\{(\w+)\}", text) for text, *_ in _TEMPLATES]
    slots = max(len(p) // 2 for p in parsed)
    slots += slots % 2
    pieces: list[str] = []
    piece_offset = np.zeros((len(parsed), slots // 2), np.int64)
    slot_size = np.ones((len(parsed), slots), np.int64)
    inline = np.full((len(parsed), 2), -1, np.int64)
    for t, parts in enumerate(parsed):
        lits = parts[0::2] + [""] * (slots + 1 - len(parts[0::2]))
        pools = [_POOLS[name] for name in parts[1::2]]
        pools += [[""]] * (slots - len(pools))
        for k, pool in enumerate(pools):
            slot_size[t, k] = len(pool)
        for c in range(slots // 2):
            tail = lits[slots] if c == slots // 2 - 1 else ""
            piece_offset[t, c] = len(pieces)
            pieces += [
                lits[2 * c] + a + lits[2 * c + 1] + b + tail
                for a in pools[2 * c]
                for b in pools[2 * c + 1]
            ]
        found = re.findall(r"#(\w+)", "".join(lits))
        for k, tag in enumerate(found):
            inline[t, k] = tag_id[tag.lower()]
    kinds = {"post": 0, "slogan": 1, "campaign": 2}
    template_lang = np.array([LANGS.index(lang) for _, lang, _, _ in _TEMPLATES], np.int64)
    template_kind = np.array([kinds[kind] for _, _, kind, _ in _TEMPLATES], np.int64)
    organic = []
    for lang in range(len(LANGS)):
        ids = np.flatnonzero((template_lang == lang) & (template_kind < 2))
        weights = np.array([_TEMPLATES[i][3] for i in ids], np.float64)
        organic.append((ids.astype(np.int64), np.cumsum(weights) / weights.sum()))
    campaign = np.flatnonzero(template_kind == 2).astype(np.int64)
    campaign_texts = tuple(
        re.sub(r"\{c(punct|emoji|sep)\}", "", _TEMPLATES[i][0]).replace("{cnum}", "{n}")
        for i in campaign
    )

    # X usernames are unique ignoring case: keep one spelling per lower-case form.
    combos = [
        style.format(F=f, L=ln, f=f.lower(), l=ln.lower())
        for f in _FIRST
        for ln in _LAST
        for style in _HANDLE_STYLES
    ] + [style.format(F=f) for f in _FIRST for style in _HANDLE_EXTRAS]
    handle_words = sorted({w.lower(): w for w in combos if len(w) <= 11}.values(), key=str.lower)
    assert not {h.lower() for h in _CURATED_HANDLES} & {w.lower() for w in handle_words}
    member_words = [f.lower() for f in _FIRST if len(f) <= 7]

    rng = np.random.default_rng(17)
    urls: list[str] = []
    for pattern, n in _URL_KINDS:
        for _ in range(n):
            slug = "-".join(rng.choice(_SLUG_WORDS, size=int(rng.integers(3, 7))).tolist())
            urls.append(
                pattern.format(
                    yt="".join(chr(c) for c in rng.choice(_ALNUM, 11)),
                    sp="".join(chr(c) for c in rng.choice(_ALNUM[10:], 12)),
                    num=int(rng.integers(10**14, 10**15)),
                    n6=int(rng.integers(10**5, 10**6)),
                    n5=int(rng.integers(10**4, 10**5)),
                    slug=slug,
                )
            )
    urls = [urls[i] for i in rng.permutation(len(urls))]

    return _Vocab(
        pieces=pa.array(pieces, pa.string()),
        slots=slots,
        piece_offset=piece_offset,
        slot_size=slot_size,
        template_lang=template_lang,
        template_kind=template_kind,
        inline_tags=inline,
        organic=tuple(organic),
        campaign=campaign,
        campaign_texts=campaign_texts,
        trail_tags=np.array([tag_id[t.lower()] for t in _CAMPAIGN_TRAIL_TAGS], np.int64),
        tag_display=pa.array(tags, pa.string()),
        tag_lower=pa.array([t.lower() for t in tags], pa.string()),
        tag_piece=pa.array([f" #{t}" for t in tags] + [""], pa.string()),
        tag_cdf=_zipf_cdf(len(tags), 1.05),
        handle_words=pa.array(handle_words, pa.string()),
        curated=pa.array(_CURATED_HANDLES, pa.string()),
        member_words=pa.array(member_words, pa.string()),
        first=pa.array(_FIRST, pa.string()),
        last=pa.array(_LAST, pa.string()),
        name_suffix=pa.array(_NAME_SUFFIXES, pa.string()),
        urls=pa.array(urls, pa.string()),
        url_cdf=_zipf_cdf(len(urls), 1.1),
    )


# ----------------------------------------------------------------------------------------
# Counter-based randomness: every draw is a hash of (seed, post number, purpose).
# ----------------------------------------------------------------------------------------

_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1


def _mix(x: U64) -> U64:
    """splitmix64's finalizer: a bijective 64-bit hash with good avalanche."""
    x = x + np.uint64(_GOLDEN)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _mix_int(x: int) -> int:
    x = (x + _GOLDEN) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


class _Salt:
    """One number per independent draw made for a post."""

    TIME, KIND, AUTHOR, LEVEL_AUTHOR, LANG_KEEP, LANG, TEMPLATE, NTAGS = range(1, 9)
    TAG0, TAG1, TAG2, MENTION, MENTION_WHO, URL, URL_WHICH, TCO = range(9, 17)
    LIKES, REPOSTS, REPLIES, QUOTES, VIEWS, TRAIL = range(17, 23)
    CANDIDATE = 40  # + 3 * attempt (+0 lag, +1 level)
    SLOT = 80  # + slot number
    AUTHOR_LANG, NAME_FIRST, NAME_LAST, NAME_SUFFIX, MEMBER_WORD, MEMBER_TIME = range(100, 106)


class _Hash:
    def __init__(self, seed: int) -> None:
        self.seed = seed

    def bits(self, j: I64, salt: int) -> U64:
        key = np.uint64(_mix_int((self.seed * 0x632BE59BD9B4E019 + salt * _GOLDEN) & _MASK64))
        return _mix(j.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03) + key)

    def u(self, j: I64, salt: int) -> F64:
        """Uniform in [0, 1)."""
        return (self.bits(j, salt) >> np.uint64(11)).astype(np.float64) * 2.0**-53

    def below(self, j: I64, salt: int, n: int | I64) -> I64:
        """Uniform integer in [0, n)."""
        return np.minimum(np.floor(self.u(j, salt) * n), np.asarray(n) - 1).astype(np.int64)


# ----------------------------------------------------------------------------------------
# Configuration, plan and ground truth
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostSimConfig:
    """What to generate. The same config always gives the same posts."""

    count: int
    seed: int = 1
    start: datetime = DEFAULT_START
    hours: float = 4.0
    campaign_share: float = 0.01  # campaign accounts as a share of all authors
    repost_share: float = 0.40
    reply_share: float = 0.08
    quote_share: float = 0.04
    bursts: int = 4  # hashtags that jump for 5-15 minutes
    campaign_waves: int = 6  # short windows in which the campaign posts
    batch_rows: int = 250_000  # posts per record batch (about; batches hold whole seconds)
    part_rows: int = 5_000_000  # rows per Parquet part file when writing a directory

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"count must be at least 1, not {self.count}")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        if not 0 < self.hours <= MAX_HOURS:
            raise ValueError(f"hours must be more than 0 and at most {MAX_HOURS}")
        if not 0 <= self.campaign_share < 0.5:
            raise ValueError("campaign_share must be at least 0 and below 0.5")
        shares = (self.repost_share, self.reply_share, self.quote_share)
        if min(shares) < 0 or sum(shares) > 0.8:
            raise ValueError("repost, reply and quote shares must be >= 0 and add up to <= 0.8")
        if self.bursts < 0 or self.campaign_waves < 0:
            raise ValueError("bursts and campaign_waves must be >= 0")
        if self.batch_rows < 1 or self.part_rows < 1:
            raise ValueError("batch_rows and part_rows must be at least 1")


@dataclass(frozen=True)
class Burst:
    """A hashtag that jumps in [start_minute, end_minute) after the event start."""

    hashtag: str
    start_minute: int
    end_minute: int
    posts: int


@dataclass(frozen=True)
class CampaignWave:
    """A window in which the campaign posts one template; minutes after the event start.
    The hyperactive accounts post during [sprint_start_minute, sprint_end_minute)."""

    template: int
    start_minute: float
    end_minute: float
    sprint_start_minute: float
    sprint_end_minute: float
    posts: int


@dataclass(frozen=True)
class GroundTruth:
    """What was injected, to score trend and coordination detectors against."""

    seed: int
    total_posts: int
    start: datetime
    hours: float
    campaign_members: list[str]  # author ids
    campaign_handles: list[str]
    hyperactive_members: list[str]  # author ids posting > 10 a minute in their sprints
    campaign_templates: list[str]  # "{n}" marks the number that varies
    campaign_waves: list[CampaignWave]
    campaign_posts: int
    bursts: list[Burst]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "total_posts": self.total_posts,
            "start": self.start.isoformat().replace("+00:00", "Z"),
            "hours": self.hours,
            "campaign_members": self.campaign_members,
            "campaign_handles": self.campaign_handles,
            "hyperactive_members": self.hyperactive_members,
            "campaign_templates": self.campaign_templates,
            "campaign_waves": [w.__dict__ for w in self.campaign_waves],
            "campaign_posts": self.campaign_posts,
            "bursts": [b.__dict__ for b in self.bursts],
        }

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2).decode()


def rally_curve(minutes: F64, total_minutes: float) -> F64:
    """Posting rate as a share of the peak: a slow ramp in the first 30 minutes (before the
    rally starts), a climb to the speech, a peak, then an exponential decay."""
    d = total_minutes
    ramp_end = min(30.0, 0.125 * d)
    speech_start, peak, speech_end = 0.3125 * d, 0.42 * d, 0.5 * d
    tau = 0.2 * d

    def smooth(x: F64) -> F64:
        x = np.clip(x, 0.0, 1.0)
        return x * x * (3.0 - 2.0 * x)

    t = np.asarray(minutes, np.float64)
    ramp = 0.06 + 0.24 * np.clip(t / ramp_end, 0, 1) ** 2
    climb = 0.30 + 0.35 * smooth((t - ramp_end) / max(speech_start - ramp_end, 1e-9))
    rise = 0.65 + 0.35 * smooth((t - speech_start) / max(peak - speech_start, 1e-9))
    hold = 1.0 - 0.1 * smooth((t - peak) / max(speech_end - peak, 1e-9))
    decay = 0.15 + 0.75 * np.exp(-(t - speech_end) / tau)
    out: F64 = np.select(
        [t < ramp_end, t < speech_start, t < peak, t < speech_end],
        [ramp, climb, rise, hold],
        decay,
    )
    return out


_WORKERS = min(2, os.cpu_count() or 1)
_LEVELS = 4
_LEVEL_WEIGHTS = np.array([0.45, 0.27, 0.18, 0.10])  # how reposts pick a popularity tier
_HYPER_RATE = 15.0  # posts per minute of a hyperactive campaign account in its sprint
_CANDIDATES = 6


@dataclass
class _Plan:
    config: PostSimConfig
    hash: _Hash
    start_ms: int
    bins: int  # one per second
    bin_cum: I64  # posts before each second (bins + 1)
    cell_cum: I64  # posts before each (second, component) cell (bins * comps + 1)
    comp_before: I64  # (bins + 1, comps) posts of a component before a second
    comp_kind: I64
    comp_index: I64  # burst number or wave number
    authors: int  # organic author pool (Zipf ranks)
    author_q: float
    author_bits: int
    members: int
    hyper: int
    p_kind: F64  # cumulative: repost, reply, quote for organic posts
    grid: I64  # index multiples that make a post popular, per level
    lag_min: int
    bursts: list[Burst]
    burst_tags: I64
    waves: list[CampaignWave]
    wave_template: I64  # template id per wave
    wave_offset: I64
    batches: list[tuple[int, int]] = field(default_factory=list)  # second ranges

    @property
    def comps(self) -> int:
        return len(self.comp_kind)


def _expected_distinct(posts: float, n: int, q: float) -> float:
    """Expected number of ranks drawn at least once when `posts` ranks are drawn with
    density 1/((x + q) ln((n + q) / q)) on [0, n)."""
    if posts <= 0 or n <= 0:
        return 0.0
    x = np.unique(np.concatenate([np.arange(min(n, 2000) + 1.0), np.geomspace(1.0, n, 4000)]))
    lam = posts / ((x + q) * math.log((n + q) / q))
    f = 1.0 - np.exp(-lam)
    return float(np.sum((f[1:] + f[:-1]) / 2 * np.diff(x)))


@lru_cache(maxsize=8)
def _plan(config: PostSimConfig) -> _Plan:
    vocab = _vocab()
    rng = np.random.default_rng([config.seed, 0x504F5354])
    count = config.count
    bins = max(1, math.ceil(config.hours * 3600))
    minutes_total = bins / 60.0

    # Organic authors: Zipf-Mandelbrot ranks; most post once or twice, a few a lot.
    authors = max(50, int(count * 0.6))
    author_q = max(15.0, authors * 1e-4)
    author_bits = max(8, math.ceil(math.log2(authors)))
    distinct = _expected_distinct(count * 0.9, authors, author_q)
    share = config.campaign_share
    members = 0 if share == 0 else max(5, round(distinct * share / (1 - share)))
    hyper = 0 if members == 0 else max(1, min(100, members // 30, members // 2))
    hyper = max(hyper, min(3, members - 1)) if members else 0

    # Trend bursts: mid-popular hashtags, in separate stretches of the event.
    campaign_tags = set(vocab.inline_tags[vocab.inline_tags >= 0].tolist())
    campaign_tags |= set(vocab.trail_tags.tolist())
    candidates = [t for t in range(30, 400) if t not in campaign_tags]
    n_bursts = config.bursts if minutes_total >= 10 else 0
    burst_tags = rng.choice(candidates, size=n_bursts, replace=False).astype(np.int64)
    bursts: list[tuple[int, int, int]] = []
    lo, hi = 0.1 * minutes_total, 0.92 * minutes_total
    for k in range(n_bursts):
        seg_lo = lo + (hi - lo) * k / n_bursts
        seg_len = (hi - lo) / n_bursts
        dur = int(min(int(rng.integers(5, 16)), max(1.0, seg_len - 1)))
        start_min = int(seg_lo + rng.integers(0, max(1, int(seg_len - dur))))
        bursts.append((int(burst_tags[k]), start_min, min(start_min + dur, int(minutes_total))))

    # Campaign waves: a few minutes each, one template each; hyperactive accounts sprint.
    n_waves = config.campaign_waves if members else 0
    waves: list[tuple[float, float, float, float]] = []
    lo, hi = 0.15 * minutes_total, 0.9 * minutes_total
    for w in range(n_waves):
        seg_lo = lo + (hi - lo) * w / n_waves
        seg_len = (hi - lo) / n_waves
        length = float(min(rng.uniform(3.0, 8.0), seg_len * 0.8))
        begin = seg_lo + rng.uniform(0.0, max(0.0, seg_len - length))
        sprint = min(2.0, length)
        sprint_start = begin + rng.uniform(0.0, length - sprint)
        waves.append((begin, begin + length, sprint_start, sprint_start + sprint))
    first_template = int(rng.integers(0, len(vocab.campaign)))
    wave_template = np.array(
        [vocab.campaign[(first_template + w) % len(vocab.campaign)] for w in range(n_waves)],
        np.int64,
    )
    wave_offset = rng.integers(0, max(1, members), size=n_waves).astype(np.int64)

    # Components: organic, each burst, then per wave the ordinary and the hyperactive members.
    kinds = [ORGANIC] + [BURST] * n_bursts + [CAMPAIGN, HYPER] * n_waves
    index = [0, *range(n_bursts)] + [w for w in range(n_waves) for _ in (0, 1)]
    profiles: list[F64] = []
    expected: list[float] = []
    sec = np.arange(bins, dtype=np.float64)
    minute = sec / 60.0
    for _, s, e in bursts:
        # a trapezoid: up in the first fifth, down in the last fifth
        x = (minute - s) / max(e - s, 1e-9)
        shape = np.clip(np.minimum(x / 0.2, (1 - x) / 0.2), 0, 1) * ((x >= 0) & (x < 1))
        profiles.append(shape + 1e-12 * ((x >= 0) & (x < 1)))
        expected.append(max(0.0025 * count, 1.0 if count >= 2000 else 0.0))
    ordinary = max(members - hyper, 0)
    for begin, end, sprint_start, sprint_end in waves:
        inside = ((minute >= begin) & (minute < end)).astype(np.float64)
        profiles.append(inside + 1e-12)
        expected.append(1.5 * ordinary)
        in_sprint = ((minute >= sprint_start) & (minute < sprint_end)).astype(np.float64)
        profiles.append(in_sprint + 1e-12)
        expected.append(hyper * _HYPER_RATE * (sprint_end - sprint_start))
    extra = np.array(expected, np.float64)
    campaign = extra[n_bursts:]  # a view: at most 12% of all posts are the campaign's
    if campaign.sum() > 0.12 * count:
        campaign *= 0.12 * count / campaign.sum()
    extra_n = np.floor(extra).astype(np.int64)
    organic_n = count - int(extra_n.sum())

    noise = np.exp(rng.normal(0.0, 0.08, size=int(minutes_total) + 1))
    organic_profile = rally_curve(minute, minutes_total) * noise[minute.astype(np.int64)]
    counts = np.zeros((bins, len(kinds)), np.int64)
    for c, (n, profile) in enumerate(
        zip([organic_n, *extra_n], [organic_profile, *profiles], strict=True)
    ):
        if n > 0:
            counts[:, c] = rng.multinomial(int(n), profile / profile.sum())
    per_bin = counts.sum(axis=1)
    if per_bin.max() >= 1 << 22:
        raise ValueError("too many posts per second for X-like ids; spread them over more hours")

    bin_cum = np.concatenate([[0], np.cumsum(per_bin)]).astype(np.int64)
    cell_cum = np.concatenate([[0], np.cumsum(counts.ravel())]).astype(np.int64)
    comp_before = np.vstack([np.zeros((1, len(kinds)), np.int64), np.cumsum(counts, axis=0)])

    organic_share = organic_n / count
    # Reposts/replies/quotes are organic; a few fall back to originals (no valid target).
    p = np.array([config.repost_share, config.reply_share, config.quote_share]) / max(
        organic_share, 1e-9
    )
    p = p / 0.985
    if p.sum() > 0.9:
        p *= 0.9 / p.sum()
    g = max(2, round((count / 50) ** (1 / 3)))
    grid = np.array([1, g, g * g, g * g * g], np.int64)

    plan = _Plan(
        config=config,
        hash=_Hash(config.seed),
        start_ms=int(config.start.timestamp() * 1000),
        bins=bins,
        bin_cum=bin_cum,
        cell_cum=cell_cum,
        comp_before=comp_before,
        comp_kind=np.array(kinds, np.int64),
        comp_index=np.array(index, np.int64),
        authors=authors,
        author_q=author_q,
        author_bits=author_bits,
        members=members,
        hyper=hyper,
        p_kind=np.cumsum(p),
        grid=grid,
        lag_min=max(1, round(count / bins * 20)),
        bursts=[
            Burst(str(vocab.tag_lower[t]), s, e, int(n))
            for (t, s, e), n in zip(bursts, extra_n[:n_bursts], strict=True)
        ],
        burst_tags=burst_tags,
        waves=[
            CampaignWave(
                template=int(np.flatnonzero(vocab.campaign == wave_template[w])[0]),
                start_minute=round(s, 3),
                end_minute=round(e, 3),
                sprint_start_minute=round(ss, 3),
                sprint_end_minute=round(se, 3),
                posts=int(extra_n[n_bursts + 2 * w] + extra_n[n_bursts + 2 * w + 1]),
            )
            for w, (s, e, ss, se) in enumerate(waves)
        ],
        wave_template=wave_template,
        wave_offset=wave_offset,
    )
    # Batches hold whole seconds, so times (and ids) never go back across batches.
    firsts = np.searchsorted(bin_cum, np.arange(0, count, config.batch_rows), side="right") - 1
    firsts = np.unique(firsts)
    ends = np.append(firsts[1:], bins)
    plan.batches = [(int(a), int(b)) for a, b in zip(firsts, ends, strict=True)]
    return plan


def _posting_members(plan: _Plan) -> I64:
    """Campaign members with at least one post, in member order (the hyperactive first),
    from the per-component totals and the same turn-taking `_describe` uses."""
    posted = np.zeros(plan.members, bool)
    totals = plan.comp_before[-1]
    ordinary = max(plan.members - plan.hyper, 1)
    for c, kind in enumerate(plan.comp_kind.tolist()):
        n = int(totals[c])
        if kind == HYPER:
            posted[: min(n, plan.hyper)] = True
        elif kind == CAMPAIGN and n:
            turns = np.arange(min(n, ordinary), dtype=np.int64)
            offset = plan.wave_offset[plan.comp_index[c]]
            posted[plan.hyper + (turns + offset) % ordinary] = True
    return np.flatnonzero(posted).astype(np.int64)


def ground_truth(config: PostSimConfig) -> GroundTruth:
    """What `generate_batches(config)` injects, from the plan alone (no posts are made):
    the campaign accounts that post, its templates and windows, and the bursts."""
    plan = _plan(config)
    vocab = _vocab()
    members = _posting_members(plan)
    ids, handles, _ = _author_columns(plan, np.full(len(members), -1, np.int64), members)
    hyper = members < plan.hyper
    return GroundTruth(
        seed=config.seed,
        total_posts=config.count,
        start=config.start,
        hours=config.hours,
        campaign_members=[str(i) for i in ids.tolist()],
        campaign_handles=handles.to_pylist(),
        hyperactive_members=[str(i) for i in ids[hyper].tolist()],
        campaign_templates=list(vocab.campaign_texts),
        campaign_waves=[w for w in plan.waves if w.posts],
        campaign_posts=sum(w.posts for w in plan.waves),
        bursts=[b for b in plan.bursts if b.posts],
    )


# ----------------------------------------------------------------------------------------
# Posts as functions of their number
# ----------------------------------------------------------------------------------------


def _scramble(x: I64, bits: int) -> I64:
    """A bijection of [0, 2**bits): looks random, keeps distinct inputs distinct."""
    mask = np.uint64((1 << bits) - 1)
    y = x.astype(np.uint64) ^ (np.uint64(0x5BD1E9955BD1E995) & mask)
    for mult in (0x9E3779B1, 0x85EBCA77):
        y = (y * np.uint64(mult)) & mask
        y ^= y >> np.uint64(max(1, bits // 2))
    return y.astype(np.int64)


def _describe(plan: _Plan, j: I64) -> dict[str, Any]:
    """Where post j sits (second, component) and what that alone decides."""
    h = plan.hash
    cell = np.searchsorted(plan.cell_cum, j, side="right") - 1
    sec, comp = np.divmod(cell, plan.comps)
    rank_in_comp = plan.comp_before[sec, comp] + (j - plan.cell_cum[cell])
    ckind = plan.comp_kind[comp]
    cidx = plan.comp_index[comp]
    time_ms = plan.start_ms + sec * 1000 + h.below(j, _Salt.TIME, 1000)

    grid = plan.grid
    level = np.zeros(len(j), np.int64)
    for lv in range(1, _LEVELS):
        level[j % grid[lv] == 0] = lv
    organic = ckind <= BURST

    # Organic authors: a Zipf-Mandelbrot rank; very popular posts come from big accounts.
    u = h.u(j, _Salt.AUTHOR)
    n, q = plan.authors, plan.author_q
    rank = np.minimum(np.floor(q * ((n + q) / q) ** u - q), n - 1).astype(np.int64)
    big = h.below(j, _Salt.LEVEL_AUTHOR, np.where(level == 3, len(_CURATED_HANDLES), 2000))
    rank = np.where(level >= 2, np.minimum(big, n - 1), rank)
    rank = np.where(organic, rank, -1)
    # Campaign members: ordinary ones in turn, hyperactive ones in turn.
    member = np.full(len(j), -1, np.int64)
    camp = ckind == CAMPAIGN
    if camp.any():
        ordinary = max(plan.members - plan.hyper, 1)
        member[camp] = plan.hyper + (rank_in_comp[camp] + plan.wave_offset[cidx[camp]]) % ordinary
    hyp = ckind == HYPER
    if hyp.any():
        member[hyp] = rank_in_comp[hyp] % max(plan.hyper, 1)

    uk = h.u(j, _Salt.KIND)
    base = np.select(
        [uk < plan.p_kind[0], uk < plan.p_kind[1], uk < plan.p_kind[2]],
        [REPOST, REPLY, QUOTE],
        ORIGINAL,
    )
    base = np.where((ckind == ORGANIC) & (level < 2), base, ORIGINAL)
    return {
        "sec": sec,
        "time_ms": time_ms,
        "ckind": ckind,
        "cidx": cidx,
        "level": level,
        "rank": rank,
        "member": member,
        "base": base,
    }


def _resolve(plan: _Plan, j: I64, info: dict[str, Any]) -> tuple[I64, I64]:
    """Final kind and target of each post. Targets are earlier originals or quotes (in an
    earlier second), recent ones more likely, popular ones (index on a coarse grid) much more
    likely. A post with no valid target becomes an original."""
    h = plan.hash
    kind = info["base"].copy()
    target = np.full(len(j), -1, np.int64)
    todo = np.flatnonzero(kind != ORIGINAL)
    first = plan.bin_cum[info["sec"][todo]]  # posts in earlier seconds
    for attempt in range(_CANDIDATES):
        if len(todo) == 0:
            break
        jj = j[todo]
        salt = _Salt.CANDIDATE + 3 * attempt
        span = np.maximum(first, 1).astype(np.float64)
        lo = np.minimum(float(plan.lag_min), span)
        lag = np.floor(lo * (span / lo) ** h.u(jj, salt)).astype(np.int64)
        cand = first - np.clip(lag, 1, None)
        lv = np.searchsorted(np.cumsum(_LEVEL_WEIGHTS), h.u(jj, salt + 1), side="right")
        step = plan.grid[np.minimum(lv, _LEVELS - 1)]
        cand = cand - cand % step
        ok = (first > 0) & (cand >= 0)
        if ok.any():
            cinfo = _describe(plan, np.where(ok, cand, 0))
            ok &= (cinfo["base"] == ORIGINAL) | (cinfo["base"] == QUOTE)
        target[todo[ok]] = cand[ok]
        todo, first = todo[~ok], first[~ok]
    kind[todo] = ORIGINAL
    return kind, target


def _post_ids(plan: _Plan, j: I64, time_ms: I64) -> I64:
    low = (j & 0x3FFFFF).astype(np.uint64)
    low = (low * np.uint64(0x9E3779B1)) & np.uint64(0x3FFFFF)
    low ^= low >> np.uint64(11)
    return ((time_ms - X_EPOCH_MS) << 22) | low.astype(np.int64)


_DAY_MS = 86_400_000


def _author_columns(plan: _Plan, rank: I64, member: I64) -> tuple[I64, pa.Array, I64]:
    """Author id, handle and creation time (ms) of organic ranks / campaign members."""
    vocab = _vocab()
    h = plan.hash
    is_member = member >= 0
    n = len(rank)
    bits = plan.author_bits
    key = _scramble(np.maximum(rank, 0), bits)
    # Organic accounts: created mostly years before the event, a few in the last month.
    event_ms = plan.start_ms
    knots_p = [0.0, 0.25, 0.65, 0.95, 1.0]
    knots_t = [
        1293840000000,
        1483228800000,
        1640995200000,
        event_ms - 30 * _DAY_MS,
        event_ms - _DAY_MS,
    ]
    created = np.floor(np.interp((key + 0.5) / 2.0**bits, knots_p, knots_t)).astype(np.int64)
    low = key & 0x1FFFFF
    # Campaign accounts: created one after another within four days, ten days before.
    if is_member.any():
        m = np.maximum(member, 0)
        spacing = max(1, 4 * _DAY_MS // max(plan.members, 1))
        made = event_ms - 13 * _DAY_MS + m * spacing + h.below(m, _Salt.MEMBER_TIME, spacing)
        created = np.where(is_member, made, created)
        low = np.where(is_member, (1 << 21) | _scramble(m & 0x1FFFFF, 21), low)
    ids = ((created - X_EPOCH_MS) << 22) | low

    words = vocab.handle_words
    word = words.take(pa.array(key % len(words)))
    number = key // len(words)
    digits = pc.if_else(pa.array(number > 0), pc.cast(pa.array(number), pa.string()), "")
    handle = pc.binary_join_element_wise(word, digits, "")
    curated = (rank >= 0) & (rank < len(vocab.curated))
    if curated.any():
        handle = pc.if_else(
            pa.array(curated), vocab.curated.take(pa.array(np.where(curated, rank, 0))), handle
        )
    if is_member.any():
        m = np.maximum(member, 0)
        mword = vocab.member_words.take(
            pa.array(h.below(m, _Salt.MEMBER_WORD, len(vocab.member_words)))
        )
        mnum = pc.cast(pa.array(10_000_000 + _scramble(m, 26)), pa.string())
        handle = pc.if_else(
            pa.array(is_member), pc.binary_join_element_wise(mword, mnum, ""), handle
        )
    assert len(handle) == n
    return ids, handle, created


def _curated(plan: _Plan) -> tuple[I64, pa.Array]:
    """Ids and handles of the well-known accounts (the top organic ranks)."""
    ranks = np.arange(len(_vocab().curated), dtype=np.int64)
    ids, handles, _ = _author_columns(plan, ranks, np.full(len(ranks), -1, np.int64))
    return ids, handles


def _author_names(plan: _Plan, ids: I64) -> pa.Array:
    vocab, h = _vocab(), plan.hash
    return pc.binary_join_element_wise(
        vocab.first.take(pa.array(h.below(ids, _Salt.NAME_FIRST, len(vocab.first)))),
        " ",
        vocab.last.take(pa.array(h.below(ids, _Salt.NAME_LAST, len(vocab.last)))),
        vocab.name_suffix.take(pa.array(h.below(ids, _Salt.NAME_SUFFIX, len(vocab.name_suffix)))),
        "",
    )


def _list_array(values: pa.Array, mask: Mask) -> pa.Array:
    """A list<string> column from a (rows, k) mask over the row-major `values`."""
    offsets = np.zeros(len(mask) + 1, np.int32)
    np.cumsum(mask.sum(axis=1), out=offsets[1:])
    picked = values.take(pa.array(np.flatnonzero(mask.ravel())))
    return pa.ListArray.from_arrays(pa.array(offsets), picked)


def _row_major(columns: Sequence[pa.Array]) -> pa.Array:
    """Interleave equal-length arrays: row 0 of each, then row 1 of each, ..."""
    n, k = len(columns[0]), len(columns)
    order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel()
    return pa.concat_arrays([c.cast(pa.string()) for c in columns]).take(pa.array(order))


def _metrics(plan: _Plan, j: I64, ckind: I64, level: I64) -> dict[str, I64]:
    h = plan.hash
    scale = np.array([2.5, 20.0, 150.0, 1200.0])[level]
    scale = np.where(ckind >= CAMPAIGN, 0.4, scale)
    tail = np.minimum(h.u(j, _Salt.LIKES).clip(1e-12) ** (-1 / 1.3) - 1.0, 1e5)
    likes = np.floor(tail * scale).astype(np.int64)
    reposts = np.floor(likes * (0.05 + 0.3 * h.u(j, _Salt.REPOSTS))).astype(np.int64)
    replies = np.floor(likes * (0.02 + 0.1 * h.u(j, _Salt.REPLIES))).astype(np.int64)
    quotes = np.floor(likes * 0.03 * h.u(j, _Salt.QUOTES)).astype(np.int64)
    views = np.floor((likes + 1) * (15 + 120 * h.u(j, _Salt.VIEWS)) + 8 * tail).astype(np.int64)
    return {
        "like_count": likes,
        "repost_count": reposts,
        "reply_count": replies,
        "quote_count": quotes,
        "view_count": views,
    }


def _make_batch(
    plan: _Plan, first_sec: int, end_sec: int, *, extras: bool, newest_first: bool
) -> pa.RecordBatch:
    vocab, h = _vocab(), plan.hash
    j = np.arange(plan.bin_cum[first_sec], plan.bin_cum[end_sec], dtype=np.int64)
    n = len(j)
    info = _describe(plan, j)
    ids = _post_ids(plan, j, info["time_ms"])
    # Rows in id (= time) order: sort the post numbers once, then build every column sorted.
    order = np.argsort(ids)
    if newest_first:
        order = order[::-1]
    j, ids = j[order], ids[order]
    info = {key: value[order] for key, value in info.items()}
    kind, target = _resolve(plan, j, info)
    author_ids, handles, author_created = _author_columns(plan, info["rank"], info["member"])

    # Targets: whom they are by, and their ids.
    has_target = np.flatnonzero(target >= 0)
    tj = target[has_target]
    tinfo = _describe(plan, tj)
    t_ids = _post_ids(plan, tj, tinfo["time_ms"])
    t_author, t_handle, _ = _author_columns(plan, tinfo["rank"], tinfo["member"])
    where = np.full(n, -1, np.int64)
    where[has_target] = np.arange(len(has_target))
    target_id = np.zeros(n, np.int64)
    target_id[has_target] = t_ids
    target_author = np.zeros(n, np.int64)
    target_author[has_target] = t_author
    target_handle = pa.concat_arrays([t_handle, pa.array([""], pa.string())]).take(
        pa.array(np.where(where >= 0, where, len(tj)))
    )

    # A repost shows its original's content: compute every content field on `src`.
    is_rt = kind == REPOST
    src = np.where(is_rt, target, j)
    s = {key: info[key].copy() for key in ("ckind", "cidx", "level", "rank", "member")}
    rt_rows = np.flatnonzero(is_rt)
    for key in s:
        s[key][rt_rows] = tinfo[key][where[rt_rows]]

    # Language: each author mostly writes in one; campaign posts follow their template.
    weights = np.cumsum(_LANG_WEIGHTS)
    who = np.where(s["member"] >= 0, s["member"] + (1 << 40), s["rank"])
    primary = np.searchsorted(weights, h.u(who, _Salt.AUTHOR_LANG), side="right")
    other = np.searchsorted(weights, h.u(src, _Salt.LANG), side="right")
    lang = np.where(h.u(src, _Salt.LANG_KEEP) < 0.85, primary, other).clip(0, 2)
    template = np.zeros(n, np.int64)
    ut = h.u(src, _Salt.TEMPLATE)
    for code, (tids, cdf) in enumerate(vocab.organic):
        rows = lang == code
        template[rows] = tids[np.searchsorted(cdf, ut[rows], side="right").clip(0, len(tids) - 1)]
    camp = s["ckind"] >= CAMPAIGN
    template[camp] = plan.wave_template[s["cidx"][camp]]
    lang = vocab.template_lang[template]
    tkind = vocab.template_kind[template]

    # Body: the template's literals around words drawn from its pools.
    parts: list[pa.Array] = []
    for c in range(vocab.slots // 2):
        size_a = vocab.slot_size[template, 2 * c]
        size_b = vocab.slot_size[template, 2 * c + 1]
        a = h.below(src, _Salt.SLOT + 2 * c, size_a)
        b = h.below(src, _Salt.SLOT + 2 * c + 1, size_b)
        parts.append(vocab.pieces.take(pa.array(vocab.piece_offset[template, c] + a * size_b + b)))
    body = pc.binary_join_element_wise(*parts, "")

    # Hashtags: the template's own, then up to three Zipf-popular ones.
    ntags = np.searchsorted([0.3, 0.65, 0.87], h.u(src, _Salt.NTAGS), side="right")
    ntags = np.where(tkind == 1, (h.u(src, _Salt.NTAGS) < 0.5).astype(np.int64), ntags)
    tagcdf = vocab.tag_cdf
    top8 = tagcdf[7]
    slot_tags = np.empty((n, 3), np.int64)
    for k, salt in enumerate((_Salt.TAG0, _Salt.TAG1, _Salt.TAG2)):
        u = h.u(src, salt)
        u = np.where(tkind == 1, u * top8, u)  # slogans carry only the top few tags
        slot_tags[:, k] = np.searchsorted(tagcdf, u, side="right").clip(0, len(tagcdf) - 1)
    burst = s["ckind"] == BURST
    slot_tags[burst, 0] = plan.burst_tags[s["cidx"][burst]]
    ntags = np.where(burst, np.maximum(ntags, 1), ntags)
    trail = vocab.trail_tags[h.below(src, _Salt.TRAIL, len(vocab.trail_tags))]
    slot_tags[camp, 0] = trail[camp]
    ntags = np.where(camp, 1, ntags)
    slot_mask = np.arange(3)[None, :] < ntags[:, None]
    slot_mask[:, 1] &= slot_tags[:, 1] != slot_tags[:, 0]
    slot_mask[:, 2] &= (slot_tags[:, 2] != slot_tags[:, 0]) & (slot_tags[:, 2] != slot_tags[:, 1])
    inline = vocab.inline_tags[template]
    all_tags = np.concatenate([inline, slot_tags], axis=1)
    tag_mask = np.concatenate([inline >= 0, slot_mask], axis=1)
    hashtags = pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(tag_mask.sum(axis=1))]).astype(np.int32)),
        vocab.tag_lower.take(pa.array(all_tags[tag_mask])),
    )
    none = len(vocab.tag_piece) - 1
    tag_parts = [
        vocab.tag_piece.take(pa.array(np.where(slot_mask[:, k], slot_tags[:, k], none)))
        for k in range(3)
    ]

    # A mention of a well-known account, sometimes; a link, sometimes.
    plain = tkind == 0
    mentions_body = plain & (h.u(src, _Salt.MENTION) < 0.10)
    who_rank = np.floor(h.u(src, _Salt.MENTION_WHO) ** 2 * len(vocab.curated)).astype(np.int64)
    curated_ids, curated_handles = _curated(plan)
    m_ids, m_handle = curated_ids[who_rank], curated_handles.take(pa.array(who_rank))
    mention_part = pc.if_else(
        pa.array(mentions_body), pc.binary_join_element_wise(" @", m_handle, ""), ""
    )
    has_url = plain & (h.u(src, _Salt.URL) < 0.07)
    url_pick = np.searchsorted(vocab.url_cdf, h.u(src, _Salt.URL_WHICH), side="right")
    expanded = vocab.urls.take(pa.array(url_pick.clip(0, len(vocab.urls) - 1)))
    tco_bits = h.bits(src, _Salt.TCO)
    chars = np.empty((n, 10), np.uint8)
    for k in range(10):
        tco_bits, digit = np.divmod(tco_bits, np.uint64(62))
        chars[:, k] = _ALNUM[digit.astype(np.int64)]
    tco = pc.cast(pa.array(chars.view("S10").ravel(), pa.binary()), pa.string())
    url_part = pc.if_else(
        pa.array(has_url), pc.binary_join_element_wise(" https://t.co/", tco, ""), ""
    )

    # Replies start with the replied-to handle; reposts are "RT @handle: " + the original.
    is_reply = kind == REPLY
    reply_prefix = pc.if_else(
        pa.array(is_reply), pc.binary_join_element_wise("@", target_handle, " ", ""), ""
    )
    rt_prefix = pc.if_else(
        pa.array(is_rt), pc.binary_join_element_wise("RT @", target_handle, ": ", ""), ""
    )
    text = pc.binary_join_element_wise(
        rt_prefix, reply_prefix, body, mention_part, *tag_parts, url_part, ""
    )

    lead = is_rt | is_reply
    mention_values = _row_major([pc.utf8_lower(target_handle), pc.utf8_lower(m_handle)])
    mention_mask = np.stack([lead, mentions_body], axis=1)
    mentions = _list_array(mention_values, mention_mask)
    urls = _list_array(expanded, has_url[:, None])

    metrics = _metrics(plan, src, s["ckind"], s["level"])
    if len(rt_rows):
        for name in ("like_count", "reply_count", "quote_count", "view_count"):
            metrics[name][rt_rows] = 0

    target_text = pc.cast(pa.array(target_id), pa.string())

    def ref(which: int) -> pa.Array:
        return pc.if_else(pa.array(kind == which), target_text, None)

    time_us = pa.array(info["time_ms"] * 1000, pa.timestamp("us", tz="UTC"))
    created_us = pa.array((author_created // 1000) * 1_000_000, pa.timestamp("us", tz="UTC"))
    columns: dict[str, pa.Array] = {
        "platform": pa.repeat(pa.scalar("x", pa.string()), n),
        "id": pc.cast(pa.array(ids), pa.string()),
        "author_id": pc.cast(pa.array(author_ids), pa.string()),
        "author_handle": handles,
        "author_created_at": created_us,
        "created_at": time_us,
        "text": text,
        "lang": pa.array(LANGS, pa.string()).take(pa.array(lang)),
        "hashtags": hashtags,
        "mentions": mentions,
        "urls": urls,
        "reply_to": ref(REPLY),
        "repost_of": ref(REPOST),
        "quote_of": ref(QUOTE),
        **{name: pa.array(values) for name, values in metrics.items()},
        "source": pa.repeat(pa.scalar(SOURCE, pa.string()), n),
    }
    arrays = [columns[f.name] for f in POST_SCHEMA]
    schema = POST_SCHEMA
    if extras:
        mention_id_values = _row_major(
            [pc.cast(pa.array(target_author), pa.string()), pc.cast(pa.array(m_ids), pa.string())]
        )
        conversation = np.where(is_reply, target_id, ids)
        arrays += [
            _list_array(mention_id_values, mention_mask),
            pc.if_else(pa.array(is_reply), pc.cast(pa.array(target_author), pa.string()), None),
            pc.cast(pa.array(conversation), pa.string()),
            _author_names(plan, author_ids),
        ]
        schema = _EXTRA_SCHEMA
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


_EXTRA_SCHEMA = POST_SCHEMA.append(pa.field("_mention_ids", pa.list_(pa.string())))
_EXTRA_SCHEMA = _EXTRA_SCHEMA.append(pa.field("_in_reply_to_user_id", pa.string()))
_EXTRA_SCHEMA = _EXTRA_SCHEMA.append(pa.field("_conversation_id", pa.string()))
_EXTRA_SCHEMA = _EXTRA_SCHEMA.append(pa.field("_author_name", pa.string()))


def _batches(
    config: PostSimConfig, *, newest_first: bool = False, extras: bool = False
) -> Iterator[pa.RecordBatch]:
    """Batches made on worker threads, a few ahead (numpy and Arrow release the GIL), so
    generation uses both cores of a small machine while the caller writes."""
    plan = _plan(config)
    _vocab()
    spans = list(reversed(plan.batches) if newest_first else plan.batches)
    workers = max(1, min(_WORKERS, len(spans)))
    with ThreadPoolExecutor(workers, thread_name_prefix="posts") as pool:
        pending: deque[Future[pa.RecordBatch]] = deque()
        for first, end in spans:
            pending.append(
                pool.submit(_make_batch, plan, first, end, extras=extras, newest_first=newest_first)
            )
            if len(pending) >= workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def generate_batches(config: PostSimConfig) -> Iterator[pa.RecordBatch]:
    """The posts as POST_SCHEMA record batches of about `config.batch_rows` rows, in time
    order (ids ascending)."""
    return _batches(config)


def plan_summary(config: PostSimConfig) -> dict[str, int]:
    """Sizes decided by the plan, for messages: posts, campaign accounts, bursts."""
    plan = _plan(config)
    return {
        "posts": config.count,
        "members": plan.members,
        "bursts": len(plan.bursts),
        "batches": len(plan.batches),
    }


# ----------------------------------------------------------------------------------------
# Writers
# ----------------------------------------------------------------------------------------


def _replace(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)


def write_parquet(
    config: PostSimConfig,
    out: Path,
    progress: Callable[[int], None] | None = None,
    *,
    directory: bool | None = None,
) -> list[Path]:
    """Write the posts as zstd Parquet in POST_SCHEMA. One file, or part files of about
    `config.part_rows` rows (part-00000.parquet, ...) when `out` is a directory (or
    `directory=True`); stale part files of an earlier run there are removed.
    `progress` gets the number of posts written so far."""
    as_dir = out.is_dir() if directory is None else directory
    if as_dir:
        out.mkdir(parents=True, exist_ok=True)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    writer: pq.ParquetWriter | None = None
    tmp: Path | None = None
    rows_in_file = done = 0

    def close() -> None:
        nonlocal writer, tmp
        if writer is not None and tmp is not None:
            writer.close()
            final = tmp.with_name(tmp.name.removesuffix(".tmp"))
            _replace(tmp, final)
            written.append(final)
        writer, tmp = None, None

    try:
        for batch in generate_batches(config):
            if writer is None or (as_dir and rows_in_file >= config.part_rows):
                close()
                name = f"part-{len(written):05d}.parquet" if as_dir else out.name
                tmp = (out if as_dir else out.parent) / f"{name}.tmp"
                writer = pq.ParquetWriter(
                    tmp,
                    POST_SCHEMA,
                    compression="zstd",
                    use_dictionary=[
                        "platform",
                        "lang",
                        "source",
                        "hashtags.list.element",
                        "urls.list.element",
                        "mentions.list.element",
                    ],
                )
                rows_in_file = 0
            writer.write_batch(batch, row_group_size=len(batch))
            rows_in_file += len(batch)
            done += len(batch)
            if progress is not None:
                progress(done)
        close()
    finally:
        if writer is not None:
            writer.close()
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    if as_dir:
        keep = set(written)
        for stale in out.glob("part-*.parquet"):
            if stale not in keep and re.fullmatch(r"part-\d{5}\.parquet", stale.name):
                stale.unlink()
    return written


def _display_url(url: str) -> str:
    short = re.sub(r"^https?://(www\.)?", "", url)
    return short if len(short) <= 26 else short[:25] + "…"


def _token(seed: int, page: int) -> str:
    value = (_mix_int(seed * 1_000_003 + page) << 64) | _mix_int(page * 7919 + seed)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    while value:
        value, d = divmod(value, 36)
        out.append(digits[d])
    return "b26v89c19zqg8o3f" + "".join(out)[:24]


def _x_time(values: pa.Array) -> list[str]:
    """'2023-12-17T15:10:00.000Z', as X writes times."""
    ms = values.cast(pa.int64()).to_numpy() // 1000
    return [t + "Z" for t in np.datetime_as_string(ms.astype("datetime64[ms]")).tolist()]


def _lists(column: pa.Array) -> tuple[list[Any], list[int]]:
    return column.values.to_pylist(), column.offsets.to_numpy().tolist()


_User = tuple[str, str, str, str]


def _x_tweets(batch: pa.RecordBatch) -> Iterator[tuple[dict[str, Any], _User]]:
    """Each row as a tweet in the X API v2 shape (as asked for with tweet.fields=author_id,
    created_at,lang,conversation_id,entities,referenced_tweets,in_reply_to_user_id,
    public_metrics) with (id, name, username, created_at) of its author
    (user.fields=created_at). Made one at a time: millions of live dicts would make the
    garbage collector the bottleneck."""

    def col(name: str) -> list[Any]:
        return batch.column(name).to_pylist()

    def ints(name: str) -> list[int]:
        values: list[int] = batch.column(name).to_numpy().tolist()
        return values

    tags, tag_at = _lists(batch.column("hashtags"))
    names, name_at = _lists(batch.column("mentions"))
    name_ids, _ = _lists(batch.column("_mention_ids"))
    links, link_at = _lists(batch.column("urls"))
    users = zip(
        col("author_id"),
        col("_author_name"),
        col("author_handle"),
        _x_time(batch.column("author_created_at")),
        strict=True,
    )
    rows = zip(
        col("id"),
        col("text"),
        col("author_id"),
        _x_time(batch.column("created_at")),
        col("lang"),
        col("_conversation_id"),
        ints("repost_count"),
        ints("reply_count"),
        ints("like_count"),
        ints("quote_count"),
        ints("view_count"),
        col("repost_of"),
        col("reply_to"),
        col("quote_of"),
        col("_in_reply_to_user_id"),
        strict=True,
    )
    for i, (row, user) in enumerate(zip(rows, users, strict=True)):
        tid, text, author, created, lang, conversation = row[:6]
        reposts, replies, likes, quotes, views, repost_of, reply_to, quote_of, reply_user = row[6:]
        tweet: dict[str, Any] = {
            "id": tid,
            "text": text,
            "author_id": author,
            "created_at": created,
            "lang": lang,
            "conversation_id": conversation,
            "edit_history_tweet_ids": [tid],
            "public_metrics": {
                "retweet_count": reposts,
                "reply_count": replies,
                "like_count": likes,
                "quote_count": quotes,
                "bookmark_count": 0,
                "impression_count": views,
            },
        }
        entities: dict[str, Any] = {}
        a, b = tag_at[i], tag_at[i + 1]
        if a < b:
            found, at = [], 0
            for tag in tags[a:b]:
                start = text.index("#", at)
                at = start + 1 + len(tag)
                found.append({"start": start, "end": at, "tag": text[start + 1 : at]})
            entities["hashtags"] = found
        a, b = name_at[i], name_at[i + 1]
        if a < b:
            found, at = [], 0
            for name, uid in zip(names[a:b], name_ids[a:b], strict=True):
                start = text.index("@", at)
                at = start + 1 + len(name)
                found.append(
                    {"start": start, "end": at, "username": text[start + 1 : at], "id": uid}
                )
            entities["mentions"] = found
        a, b = link_at[i], link_at[i + 1]
        if a < b:
            found, at = [], 0
            for expanded in links[a:b]:
                start = text.index("https://t.co/", at)
                at = start + 23
                found.append(
                    {
                        "start": start,
                        "end": at,
                        "url": text[start:at],
                        "expanded_url": expanded,
                        "display_url": _display_url(expanded),
                    }
                )
            entities["urls"] = found
        if entities:
            tweet["entities"] = entities
        if repost_of is not None:
            tweet["referenced_tweets"] = [{"type": "retweeted", "id": repost_of}]
        elif reply_to is not None:
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
            tweet["in_reply_to_user_id"] = reply_user
        elif quote_of is not None:
            tweet["referenced_tweets"] = [{"type": "quoted", "id": quote_of}]
        yield tweet, user


def write_x_jsonl(
    config: PostSimConfig, out: Path, progress: Callable[[int], None] | None = None
) -> Path:
    """Write the posts as X API v2 recent-search response pages, one JSON page per line,
    newest first as the API pages (100 tweets a page, `includes.users` for their authors,
    `meta` with newest_id, oldest_id, result_count and next_token except on the last page).
    A directory `out` gets posts-x.jsonl inside. Returns the file written."""
    path = out / "posts-x.jsonl" if out.is_dir() else out
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pages = -(-config.count // PAGE_SIZE)
    page = done = 0
    try:
        with open(tmp, "wb") as fh:

            def write_page(data: list[dict[str, Any]], users: list[_User]) -> None:
                nonlocal page
                meta: dict[str, Any] = {
                    "newest_id": data[0]["id"],
                    "oldest_id": data[-1]["id"],
                    "result_count": len(data),
                }
                if page < pages - 1:
                    meta["next_token"] = _token(config.seed, page)
                authors = {
                    uid: {"id": uid, "name": name, "username": username, "created_at": made}
                    for uid, name, username, made in users
                }
                body = {"data": data, "includes": {"users": list(authors.values())}, "meta": meta}
                fh.write(orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE))
                page += 1

            tweets: list[dict[str, Any]] = []
            users: list[_User] = []
            # Small batches: each row becomes Python objects here (same posts at any size).
            small = replace(config, batch_rows=min(config.batch_rows, 50_000))
            for batch in _batches(small, newest_first=True, extras=True):
                for tweet, user in _x_tweets(batch):
                    tweets.append(tweet)
                    users.append(user)
                    if len(tweets) == PAGE_SIZE:
                        write_page(tweets, users)
                        tweets, users = [], []
                done += len(batch)
                if progress is not None:
                    progress(done)
            if tweets:
                write_page(tweets, users)
        _replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


__all__ = [
    "DEFAULT_START",
    "Burst",
    "CampaignWave",
    "GroundTruth",
    "PostSimConfig",
    "generate_batches",
    "ground_truth",
    "plan_summary",
    "rally_curve",
    "write_parquet",
    "write_x_jsonl",
]
