"""The verification stage on hand-written pairs: each check rejects its case, paraphrases pass."""

from __future__ import annotations

import pytest

from tokentrace.cache._verify import CHECKS, features, verify


@pytest.mark.parametrize("stored, query, check", [
    ("What was the population of France in 2010?", "What was the population of France in 2020?", "number"),
    ("How do I sort a list of three items?", "How do I sort a list of 3 items?", None),
    ("How to cook rice in two cups of water", "How to cook rice in 3 cups of water", "number"),
    ("Why is the sky blue?", "Why isn't the sky blue?", "negation"),
    ("Can I use a debit card abroad?", "Can I not use a debit card abroad?", "negation"),
    ("How do I enable the progress bar?", "How do I disable the progress bar?", "antonym"),
    ("How many rows does the table have?", "How many columns does the table have?", "antonym"),
    ("How do I fly from Canada to India?", "How do I fly from India to Canada?", "direction"),
    ("Is Python better than Java?", "Is Java better than Python?", "direction"),
    ("How can I move contacts from Android to Huawei P9?", "How can I move contacts from Huawei P9 to Android?",
     "direction"),
    ("What is the best book to learn Python?", "What is the best book to learn Java?", "entity"),
    ("What is the capital of Germany?", "What is the capital of Spain?", "entity"),
    ("Is 1 + 1 = 2 true in every universe?", "Is 1 + 2 = 2 true in every universe?", "number"),
    ("Which movie came first?", "Which movie came second?", "number"),
    ("Why do some people think the earth is flat?", "Why don't some people think the earth is not flat?",
     "negation"),
    ("A train travels from A to B. How long does it take?", "A train travels from B to A. How long does it take?",
     "direction"),
    # counted: one of the two "bad"s turned into "good"
    ("Is PHP really bad, even with good frameworks?", "Is PHP really bad, even with bad frameworks?", "antonym"),
    # the same words in another order around a marker, numbers and stop words included
    ("My budget is from 10k to 13k.", "My budget is from 13k to 10k.", "direction"),
    ("I changed it from 12345 to some other code.", "I changed it from some to 12345 other code.", "direction"),
    # one content word replaced by another that no list holds
    ("What makes you feel happy today?", "What makes you feel gloomy today?", "substitution"),
    ("Lisbon Security: how do I hide my friends list?", "Madrid Security: how do I hide my friends list?",
     "substitution"),
    ("Is it safe to jump-start an old car?", "Is it safe to jump-stop an old car?", "substitution"),
    ("what is the best app for new york taxis?", "what is the best app for los angeles taxis?", "substitution"),
    # either side naming something the other does not; a vague number word against a word
    ("Should I buy this?", "Should I buy Tesla?", "substitution"),
    ("How many milliseconds are in a second?", "How many milliseconds are in an hour?", "substitution"),
    ("What is the first step to learn Go?", "What is the final step to learn Go?", "substitution"),
    ("When is the next full moon?", "When is the last full moon?", "substitution"),
    # one letter apart, but another word
    ("What is my ideal weight?", "What is my ideal height?", "substitution"),
    ("How do I hire an employee?", "How do I fire an employee?", "substitution"),
    # any script
    ("Какая столица Франции?", "Какая столица Германии?", "entity"),
    ("法国的首都是哪里？", "德国的首都是哪里？", "substitution"),
])
def test_each_check_rejects_its_case(stored, query, check):
    """A one- or two-word edit that changes the answer is rejected by the right check."""
    assert verify(query, stored) == check


@pytest.mark.parametrize("stored, query", [
    ("What is the capital of France?", "Tell me the capital city of France"),
    ("How do I reset my password?", "I forgot my password, how can I reset it?"),
    ("How can I learn Python quickly?", "What is the fastest way to learn Python?"),
    ("What is the distance from Paris to Berlin?", "How far is it from Paris to Berlin?"),
    # vague number words on one side only: "one can", "at first", "in one go"
    ("The map() function helps preprocess the entire dataset at once.",
     "The map() function assists in preprocessing the whole dataset in one go."),
    ("You can check the hash of any object with the Hasher module.",
     "One can check the hash of any object with the Hasher module."),
    # a leading "No," answers; it does not negate
    ("Version 2.10.0 does not have it.", "No, it doesn't exist in version 2.10.0."),
    # capitalised sentence starts are not names; spellings of one name are one entity
    ("Install jax first. Then you can get JAX arrays.", "Install jax first. Afterwards you can get JAX arrays."),
    ("You can load datasets from any cloud storage using Python.",
     "You can load datasets from any cloud storage in a Pythonic way."),
    # one word replaced by a spelling of itself, a connective or a number of the same value
    ("What is the best colour for a kitchen?", "What is the best color for a kitchen?"),
    ("How do I recieve payments online?", "How do I receive payments online?"),
    ("What are the best books on statistics?", "What are the best book on statistics?"),
    ("How do I sort a list of three items?", "How do I sort a list of 3 items?"),
    ("How do I log in to Gmail?", "How do I login to Gmail?"),
    ("How do I set up a VPN?", "How do I setup a VPN?"),
    ("I am new to Python, where do I start?", "I'm new to Python, where do I start?"),
    ("How do processes work?", "How do process work?"),
    # a phrase moved keeps each marker's object
    ("What is the best laptop to buy in 2024?", "In 2024, what is the best laptop to buy?"),
    ("How do I go from A to B by train?", "How do I go to B from A by train?"),
])
def test_paraphrases_pass(stored, query):
    """Rewordings that keep numbers, polarity, direction and entities are accepted."""
    assert verify(query, stored) is None


def test_checks_are_named_and_ordered():
    """Every check has a name; verify reports the first that rejects."""
    names = [name for name, _ in CHECKS]
    assert names == ["number", "negation", "antonym", "direction", "entity", "substitution"]
    assert verify("Why isn't 2 bigger than 3?", "Why is 5 bigger than 3?") == "number"


@pytest.mark.parametrize("text", ["", "   ", "?!", "1234", "ünïcödé wörds", "a" * 5000])
def test_odd_input_does_not_crash(text):
    """Empty, punctuation-only, numeric, non-ASCII and long texts are handled."""
    features(text)
    assert verify(text, text) is None


def test_symmetric_for_substitutions():
    """A substitution is rejected whichever side is stored."""
    a, b = "How do I enable dark mode?", "How do I disable dark mode?"
    assert verify(a, b) == verify(b, a) == "antonym"
