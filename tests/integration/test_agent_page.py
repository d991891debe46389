"""The agent desktop page in a real headless Chromium: type a question, read the answer."""

import json
import os
import shutil

import pytest

from srmkb import Document, KnowledgeBase
from srmkb.service import create_app

from ..conftest import ROOT
from .test_service import Server

pytestmark = pytest.mark.slow

AGENT_KEY, CUSTOMER_KEY = "page-agent-key", "page-customer-key"

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        pytest.skip(
            "Chromium or chromedriver not installed (apt-get install chromium chromium-driver)"
        )
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def kb(tmp_path_factory, minilm):
    base = KnowledgeBase(tmp_path_factory.mktemp("page") / "kb", model=minilm)
    docs = []
    for name in ("faq.jsonl", "articles.jsonl"):
        with open(ROOT / "examples" / "nimbus" / name) as handle:
            docs += [Document.from_json(json.loads(line)) for line in handle if line.strip()]
    base.upsert(docs)
    return base


@pytest.fixture(scope="module")
def url(kb):
    with Server(create_app(kb, keys={AGENT_KEY: "agent", CUSTOMER_KEY: "customer"})) as base:
        yield base


def _open(browser, url, key=None):
    """The page, signed out; then signed in with ``key`` when one is given."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # Signed out on a page that runs none of the agent page's script: a sign-in still
    # being checked there could store its key again after the clear.
    browser.get(url + "/health")
    browser.execute_script("sessionStorage.clear()")
    browser.get(url)
    if key:
        WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "api-key").is_displayed())
        browser.find_element(By.ID, "api-key").send_keys(key)
        browser.find_element(By.ID, "sign-in").click()
        WebDriverWait(browser, 10).until(
            lambda b: (
                b.find_element(By.ID, "who").text != "Customer view only"
                or b.find_element(By.ID, "error").text
            )
        )


def _ask(browser, url, question, audience, key=None):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    _open(browser, url, key)
    Select(browser.find_element(By.ID, "audience")).select_by_value(audience)
    box = browser.find_element(By.ID, "question")
    box.send_keys(question)
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 30).until(ec.visibility_of_element_located((By.ID, "result")))
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "answer-text").text.strip())
    return By


def test_agent_sees_answer_steps_citation_previews_and_internal_notes(browser, url, kb, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    logged = len(kb.audit.interactions())
    by = _ask(browser, url, "How do I factory reset my router?", "agent", AGENT_KEY)
    text = browser.find_element(by.ID, "answer-text").text
    assert "factory reset" in text.lower()
    steps = [li.text for li in browser.find_elements(by.CSS_SELECTOR, "#steps li")]
    assert len(steps) == 4 and steps[0].startswith("Keep the router plugged in")
    cite = browser.find_element(by.CSS_SELECTOR, "#citations a")
    assert cite.get_attribute("href") == "https://help.nimbus.example/articles/factory-reset"
    assert "confidence" in browser.find_element(by.ID, "confidence").text.lower()
    assert "http" not in browser.find_element(by.ID, "preview-voice").text
    assert "Source:" in browser.find_element(by.ID, "preview-email").text
    browser.find_element(by.ID, "fb-resolved").click()
    WebDriverWait(browser, 10).until(
        lambda b: "recorded" in b.find_element(by.ID, "feedback-done").text
    )
    # One interaction per question (the channel previews are not logged), with its outcome.
    (item,) = kb.audit.interactions()[logged:]
    assert (item.channel, item.outcome) == ("agent", "resolved")
    # The README's picture is refreshed only on request: a test run leaves the tree clean.
    shot = ROOT / "docs" if os.environ.get("SRMKB_UPDATE_DOCS") else tmp_path
    shot.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(shot / "agent-desktop.png"))


@pytest.mark.parametrize("key", [AGENT_KEY, None], ids=["agent previewing", "anonymous"])
def test_customer_view_hides_internal_notes(browser, url, key):
    by = _ask(
        browser,
        url,
        "Team leads may approve a refund up to 60 days after delivery",
        "customer",
        key,
    )
    page = browser.find_element(by.TAG_NAME, "body").text
    assert "60 days" not in page and "Team leads" not in page
    assert not browser.find_element(by.ID, "notes").is_displayed()


def test_the_agent_view_needs_an_agent_key(browser, url):
    from selenium.webdriver.common.by import By

    _open(browser, url)
    assert not browser.find_element(By.ID, "agent-view").is_enabled()
    _open(browser, url, CUSTOMER_KEY)
    assert "does not give the agent view" in browser.find_element(By.ID, "error").text
    assert not browser.find_element(By.ID, "agent-view").is_enabled()
    _open(browser, url, "not-a-key")
    assert "wrong" in browser.find_element(By.ID, "error").text.lower()
    assert browser.execute_script("return sessionStorage.length") == 0
    _open(browser, url, AGENT_KEY)
    assert browser.find_element(By.ID, "agent-view").is_enabled()
    assert browser.find_element(By.ID, "who").text == "Signed in: agent"
    # The key lives in this tab's sessionStorage only: not in the address, not in cookies.
    assert AGENT_KEY not in browser.current_url and not browser.get_cookies()
