"""Browser tests: the whole stack (four services and the gateway, as real processes on
the test store and vhost) driven by Debian's headless Chromium through selenium.

Data is created through RPC with tokens of the same people the users file signs in,
so owners and scopes line up. Screenshots of each page go to var/screenshots/.
"""
from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.actors import Clients, token_for
from tests.support.infra import ROOT, GaveUp, RabbitVhost, ServiceProcess, service_env, wait_for
from tests.support.stacks import close_after_directory

SCREENSHOTS = ROOT / "var" / "screenshots"
HERE = Path(__file__).parent  # the stack and the browser stop after the last test in here
PASSWORD = "browser-test-pw"
SERVICES = ("customer", "invoice", "approval", "search")


@dataclass(frozen=True)
class Person:
    username: str
    sub: str
    name: str
    department: str
    roles: tuple[str, ...]


PEOPLE = {p.username: p for p in (
    Person("admin", "u-admin", "管理员", "d-hq", ("admin",)),
    Person("finance", "u-finance", "财务小王", "d-fin", ("finance",)),
    Person("manager", "u-manager", "销售经理", "d-sales", ("sales_manager",)),
    Person("sales", "u-sales", "销售小李", "d-sales", ("sales",)),
    Person("sales2", "u-sales2", "销售小张", "d-sales2", ("sales",)),
    Person("auditor", "u-auditor", "审计小孙", "d-audit", ("auditor",)),
)}


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


def write_users_file(path: Path) -> None:
    from gateway.users import User, hash_password, write_users
    password_hash = hash_password(PASSWORD)
    write_users(path, [User(p.username, password_hash, p.sub, p.name, p.department, p.roles)
                       for p in PEOPLE.values()])


@dataclass(frozen=True)
class Stack:
    base_url: str
    amqp_uri: str


@pytest.fixture(scope="session")
def web_vhost() -> Iterator[RabbitVhost]:
    """A vhost of the browser tests' own: the e2e system's services use the session's,
    and two sets of services on one vhost would share their RPC queues."""
    created = RabbitVhost()
    delete = close_after_directory(HERE, created.delete)
    yield created
    delete()


@pytest.fixture(scope="session")
def stack(mongo_server: Any, web_vhost: RabbitVhost, log_dir: str) -> Iterator[Stack]:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("chromium / chromedriver are not installed (scripts/browser.sh installs them)")
    from tests.support.gateway import GatewayProcess, environ_without_proxy
    environ_without_proxy()
    users = Path(tempfile.mkdtemp(prefix="browser-users-")) / "users.json"
    write_users_file(users)
    env = service_env(web_vhost, mongo_server.url, "web_")  # each on its own account
    services = [ServiceProcess(name, env, log_dir).start() for name in SERVICES]
    # files of more than 2 rows import as a job: the import page then follows its progress
    gateway = GatewayProcess(env, log_dir, users, GATEWAY_IMPORT_SYNC_ROWS="2")

    def stop() -> None:
        for process in [gateway.process, *services]:  # all at once: each takes seconds
            process.terminate()
        for process in [gateway.process, *services]:
            process.wait_stopped()
        shutil.rmtree(users.parent, ignore_errors=True)
    stop_once = close_after_directory(HERE, stop)
    try:
        probes = Clients(web_vhost.client_uri)
        try:
            hubs: list[Any] = []

            def ready() -> bool:
                for process in services:
                    if not process.alive():
                        raise GaveUp(f"{process.name} died:\n{process.log_tail()}")
                if not hubs:  # the caller account cannot declare nameko-rpc: a service does
                    hubs.append(probes.as_user(roles=["admin"]))
                hub = hubs[0]
                calls = (lambda: hub.customer.list_customers(limit=1), hub.invoice.list_invoice_types,
                         hub.approval.list_flows, hub.search.projection_status)
                return all(call() is not None for call in calls)
            wait_for(ready, timeout=90, interval=0.3, message="the services to answer")
        finally:
            probes.close()
        gateway.start()
        yield Stack(gateway.url, web_vhost.client_uri)
    finally:
        stop_once()


class Hubs:
    """RPC hubs calling as the people of PEOPLE (``hubs["sales"].invoice...``)."""

    def __init__(self, amqp_uri: str) -> None:
        self.clients = Clients(amqp_uri)
        self._hubs: dict[str, Any] = {}

    def __getitem__(self, username: str) -> Any:
        if username not in self._hubs:
            p = PEOPLE[username]
            self._hubs[username] = self.clients.with_authorization(
                token_for(roles=p.roles, sub=p.sub, department=p.department, name=p.name))
        return self._hubs[username]


@pytest.fixture(scope="session")
def hubs(stack: Stack) -> Iterator[Hubs]:
    opened = Hubs(stack.amqp_uri)
    close = close_after_directory(HERE, opened.clients.close)
    yield opened
    close()


@pytest.fixture(scope="session")
def demo(hubs: Hubs) -> dict[str, Any]:
    """Demo-like data: a custom field, an approval flow, customers with contracts and
    payments, invoices of three types in March and February 2026, one of another owner."""
    from tests.browser.demo_data import create_demo
    return create_demo(hubs)


@pytest.fixture(scope="session")
def driver(stack: Stack) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tempfile.mkdtemp(prefix="browser-downloads-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1366,768", "--lang=zh-CN", "--disable-extensions"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": downloads,
                                              "download.prompt_for_download": False,
                                              "intl.accept_languages": "zh-CN,zh"})
    browser = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")),
                               options=options)
    browser.execute_cdp_cmd("Browser.setDownloadBehavior",
                            {"behavior": "allow", "downloadPath": downloads})
    # no slide-in animation (the pages honour prefers-reduced-motion): selenium reads only
    # text on screen, and a panel half-way in would make reads depend on timing
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia",
                            {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]})
    browser.downloads = Path(downloads)  # type: ignore[attr-defined]
    browser.implicitly_wait(0)

    def quit_browser() -> None:
        browser.quit()
        shutil.rmtree(downloads, ignore_errors=True)
    quit_once = close_after_directory(HERE, quit_browser)
    try:
        yield browser
    finally:
        quit_once()


class Web:
    """The browser on the stack: sign in as someone, open pages, wait, take screenshots."""

    def __init__(self, driver: Any, base_url: str) -> None:
        self.driver, self.base_url = driver, base_url
        self.signed_in_as: str | None = None

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def sign_in(self, username: str) -> None:
        if self.signed_in_as == username:
            return
        from selenium.webdriver.common.by import By
        self.driver.delete_all_cookies()
        self.open("/login")
        self.driver.find_element(By.NAME, "username").send_keys(username)
        self.driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        self.driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
        self.wait(lambda: self.driver.current_url.startswith(self.base_url + "/invoices"),
                  "the list after signing in")
        self.signed_in_as = username

    def wait(self, condition: Callable[[], Any], message: str, timeout: float = 15) -> Any:
        return wait_for(condition, timeout=timeout, interval=0.1, message=message)

    def css(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By
        return list(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def rows(self) -> list[str]:
        """The invoice numbers the list shows."""
        return [a.text for a in self.all("#invoice-table tbody a.open-panel")]

    def screenshot(self, name: str, width: int = 1366, height: int = 768, scale: float = 1.0) -> Path:
        """The page at that window size (``scale`` < 1: a smaller picture, e.g. for docs)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.set_window_size(width, height)
        path = SCREENSHOTS / f"{name}.png"
        if scale == 1.0:
            self.driver.save_screenshot(str(path))
            return path
        view = self.driver.execute_script("return [window.innerWidth, window.innerHeight]")
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "clip": {"x": 0, "y": 0, "width": view[0], "height": view[1], "scale": scale}})
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@pytest.fixture(scope="session")
def web(driver: Any, stack: Stack, demo: dict[str, Any]) -> Web:
    """One browser for the session; each test signs in as whom it needs."""
    return Web(driver, stack.base_url)
