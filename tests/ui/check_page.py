"""Drives the status page in headless Chromium (Debian's chromium + chromium-driver,
python3-selenium): the page lists the targets and services with their states and
90-day bars (a hover or a tap tells the day), a silenced target marked so, a state pushed while it is open appears
without a reload, a target's detail shows its response-time chart for 24 h, 7 d and
30 d and its trace, and on a phone-sized screen nothing overflows sideways.

usage: check_page.py PAGE_URL PUSH_BASE_URL SCREENSHOT.png
"""
import json
import re
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

page_url, push_url, screenshot = sys.argv[1:4]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def wait(what, cond, limit=15):
    end = time.time() + limit
    while time.time() < end:
        try:
            if cond():
                return
        except Exception:  # the page may be between renders
            pass
        time.sleep(0.2)
    fail("timed out waiting for " + what)


def push(state, info):
    body = json.dumps({"server": {"name": "web1", "key": "k"}, "period": 600,
                       "services": [{"name": "app", "state": state, "info": info}]}).encode()
    req = urllib.request.Request(push_url + "/api/set/service/status", body,
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 200


opts = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--window-size=1280,1500"]:
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
try:
    driver.get(page_url)
    rows = lambda: driver.find_elements(By.CSS_SELECTOR, "#targets tr[data-id]")
    wait("two targets", lambda: len(rows()) == 2)
    wait("their states", lambda: {r.get_attribute("data-state") for r in rows()} == {"PASS", "FAIL"})
    text = driver.find_element(By.ID, "targets").text
    for word in ["healthy", "broken", "PASS", "FAIL", "connection refused"]:
        if word not in text:
            fail(f"{word!r} not on the page: {text!r}")
    broken = [r for r in rows() if r.get_attribute("data-state") == "FAIL"][0]
    wait("the silenced target marked", lambda: broken.find_element(By.CSS_SELECTOR, ".mark.silenced").text == "Silenced")
    if not broken.find_element(By.CSS_SELECTOR, ".mark.silenced").get_attribute("title").startswith("silenced #"):
        fail("the mark does not say which silence")
    if driver.find_elements(By.CSS_SELECTOR, "#targets tr[data-state=PASS] .mark"):
        fail("a target nothing covers is marked")
    if "1 silence" not in driver.find_element(By.ID, "summary").text:
        fail("the summary does not count the silence")
    cells = lambda sel: driver.find_elements(By.CSS_SELECTOR, sel + " .bar span")
    wait("a 90-day bar per target", lambda: len(cells("#targets tr[data-id]")) == 180)
    wait("a 90-day bar per service", lambda: len(cells("#services tr")) == 90)
    healthy = [r for r in rows() if r.get_attribute("data-state") == "PASS"][0]
    today = healthy.find_elements(By.CSS_SELECTOR, ".bar span")[-1]
    told = today.get_attribute("title")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}: 100 % up, \d+ checks, 0 failed, down 0s", told):
        fail(f"today's cell says {told!r}")
    if "up" not in today.get_attribute("class").split():
        fail("today's cell of a passing target is not coloured as up")
    if not healthy.find_elements(By.CSS_SELECTOR, ".bar span")[0].get_attribute("title").endswith(": no data"):
        fail("a day without data is not said to be so")
    today.click()
    wait("the tapped day below the table", lambda: driver.find_element(By.ID, "tip").text == told)
    if driver.find_element(By.ID, "detail").is_displayed():
        fail("a tap on the bar opened the row")
    driver.execute_script("window.__same_page = 1")
    push("FAIL", "disk full")
    service_state = lambda: driver.find_element(By.CSS_SELECTOR, "#services tr[data-state]").get_attribute("data-state")
    wait("the pushed FAIL to appear", lambda: service_state() == "FAIL")
    if driver.execute_script("return window.__same_page") != 1:
        fail("the page was reloaded")
    if "disk full" not in driver.find_element(By.ID, "services").text:
        fail("the service's info is not shown")
    wait("the alert", lambda: "State changed" in driver.find_element(By.ID, "alerts").text)
    [r for r in rows() if r.get_attribute("data-state") == "FAIL"][0].click()
    wait("the detail view", lambda: driver.find_element(By.ID, "detail").is_displayed())
    wait("its trace", lambda: "verdict FAIL" in driver.find_element(By.ID, "detail-trace").text
         or "[FAIL] reason" in driver.find_element(By.ID, "detail-trace").text)
    wait("its history", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#detail-history tr")) >= 1)
    chart = lambda: driver.find_element(By.CSS_SELECTOR, "#chart svg")
    wait("its response times over 24 h", lambda: chart().get_attribute("data-range") == "24h"
         and len(driver.find_elements(By.CSS_SELECTOR, "#chart circle.failed")) >= 1)
    wait("its 90-day bar", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#detail-bar span")) == 90)
    driver.save_screenshot(screenshot)
    for r in ["7d", "30d"]:
        driver.find_element(By.CSS_SELECTOR, f'#ranges button[data-range="{r}"]').click()
        wait(f"the chart over {r}", lambda: chart().get_attribute("data-range") == r
             and len(driver.find_elements(By.CSS_SELECTOR, "#chart polyline.p95")) == 1)
    driver.find_element(By.ID, "detail-close").click()
    wait("the detail to close", lambda: not driver.find_element(By.ID, "detail").is_displayed())
    driver.set_window_size(390, 844)
    time.sleep(0.5)
    wide = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    if wide > 1:
        fail(f"on a phone-sized screen the page is {wide}px wider than the screen")
    print("ok")
finally:
    driver.quit()
