#!/usr/bin/env python3
"""Drives an org with simple-salesforce, a real Salesforce REST client, and checks every answer.

Run by sf-emulator's `client_library` test against an emulator it starts and seeds:

    simple_salesforce_check.py --instance-url http://127.0.0.1:PORT --session-id TOKEN \
        --version 62.0 --old-contact 003… [--old-contact 003…] --deleted-contact 003…

`--old-contact` names live Contacts last changed minutes ago (the org has no other live Contact),
`--deleted-contact` one that went to the recycle bin minutes ago. The script creates an Account
with two Contacts, reads them back through a child-relationship subquery and a parent lookup,
gets, updates and deletes, asks for updated and deleted Contacts, and pages through query_all.
Exits 0 with a short summary, or 1 with what did not match.

simple-salesforce builds every URL as https://{instance}; the emulator speaks plain HTTP, so the
requests session given to it sends that one origin's calls over plain HTTP. Everything else (URL
building, headers, JSON parsing into OrderedDicts, errors) is the library's own.
"""

import argparse
import re
import sys
import traceback
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

try:
    import requests
    from requests.adapters import HTTPAdapter
    from simple_salesforce import Salesforce
    from simple_salesforce.exceptions import (
        SalesforceError,
        SalesforceResourceNotFound,
    )
except ImportError as err:
    sys.exit(
        f"simple-salesforce is not installed for {sys.executable} ({err}); "
        "install tools/python/requirements.txt into the venv (`make venv`)"
    )

# How the REST API renders a dateTime: 2011-07-07T00:37:00.000+0000.
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
# latestDateCovered and earliestDateAvailable fall on a whole minute.
MINUTE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000\+0000$")


class Mismatch(Exception):
    """An answer that is not what the Salesforce REST API gives."""


def check(condition, what):
    if not condition:
        raise Mismatch(what)


def parse_datetime(text, what):
    check(
        isinstance(text, str) and DATETIME.match(text),
        f"{what} is not a REST dateTime: {text!r}",
    )
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


class PlainHttpForOrigin(HTTPAdapter):
    """Sends https://HOST:PORT/... calls as http://HOST:PORT/..."""

    def send(self, request, *args, **kwargs):
        if request.url.startswith("https://"):
            request.url = "http://" + request.url[len("https://") :]
        return super().send(request, *args, **kwargs)


def connect(instance_url, session_id, version):
    origin = urlparse(instance_url)
    check(origin.scheme == "http", f"expected an http:// instance URL, got {instance_url}")
    session = requests.Session()
    # Proxy settings from the environment must not send calls to the local org elsewhere.
    session.trust_env = False
    session.mount(f"https://{origin.netloc}/", PlainHttpForOrigin())
    return Salesforce(
        instance_url=instance_url,
        session_id=session_id,
        version=version,
        session=session,
    )


def check_record(record, sobject, version, where, fields=None):
    """`attributes` first, with the type and the record's URL; exactly `fields` after it."""
    keys = list(record.keys())
    check(keys and keys[0] == "attributes", f"{where}: attributes is not the first key: {keys}")
    attributes = record["attributes"]
    check(
        attributes.get("type") == sobject,
        f"{where}: attributes.type is {attributes.get('type')!r}, expected {sobject}",
    )
    if "Id" in record:
        expected_url = f"/services/data/v{version}/sobjects/{sobject}/{record['Id']}"
        check(
            attributes.get("url") == expected_url,
            f"{where}: attributes.url is {attributes.get('url')!r}, expected {expected_url}",
        )
    if fields is not None:
        check(
            keys[1:] and set(keys[1:]) == set(fields) and len(keys) == len(fields) + 1,
            f"{where}: fields {keys[1:]}, expected {sorted(fields)}",
        )


def check_id(value, prefix, what):
    check(
        isinstance(value, str) and len(value) == 18 and value.startswith(prefix),
        f"{what} is not an 18-character {prefix} id: {value!r}",
    )


def check_save_result(result, prefix, what):
    check(
        result.get("success") is True and result.get("errors") == [],
        f"{what}: not a successful SaveResult: {dict(result)}",
    )
    check_id(result.get("id"), prefix, f"{what} id")
    return result["id"]


def run(sf, version, old_contacts, deleted_contact):
    started = datetime.now(timezone.utc)

    # Create an Account and two Contacts on it.
    account = check_save_result(
        sf.Account.create({"Name": "Client Library Check"}), "001", "Account create"
    )
    ada = check_save_result(
        sf.Contact.create(
            {"FirstName": "Ada", "LastName": "Lovelace", "AccountId": account,
             "Email": "ada@example.com"}
        ),
        "003",
        "Contact create",
    )
    alan = check_save_result(
        sf.Contact.create({"FirstName": "Alan", "LastName": "Turing", "AccountId": account}),
        "003",
        "Contact create",
    )

    # A child-relationship subquery comes back nested as {totalSize, done, records}.
    answer = sf.query(
        f"SELECT Id, Name, (SELECT Id, LastName FROM Contacts) FROM Account WHERE Id = '{account}'"
    )
    check(
        answer["totalSize"] == 1 and answer["done"] is True and len(answer["records"]) == 1,
        f"subquery: expected one Account, got {answer['totalSize']} / {len(answer['records'])}",
    )
    row = answer["records"][0]
    check_record(row, "Account", version, "subquery Account", ["Id", "Name", "Contacts"])
    check(row["Name"] == "Client Library Check", f"subquery: Account Name {row['Name']!r}")
    contacts = row["Contacts"]
    check(
        isinstance(contacts, dict) and set(contacts) == {"totalSize", "done", "records"},
        f"subquery: Contacts is not {{totalSize, done, records}}: {contacts!r}",
    )
    check(
        contacts["totalSize"] == 2 and contacts["done"] is True and len(contacts["records"]) == 2,
        f"subquery: expected both Contacts, got totalSize {contacts['totalSize']}, "
        f"{len(contacts['records'])} records",
    )
    for child in contacts["records"]:
        check_record(child, "Contact", version, "subquery Contact", ["Id", "LastName"])
    check(
        {c["Id"]: c["LastName"] for c in contacts["records"]}
        == {ada: "Lovelace", alan: "Turing"},
        f"subquery: wrong Contacts {[dict(c) for c in contacts['records']]}",
    )

    # A parent lookup comes back as a nested record with its own attributes.
    answer = sf.query(
        f"SELECT Id, LastName, Account.Name FROM Contact WHERE AccountId = '{account}' "
        "ORDER BY LastName"
    )
    check(answer["totalSize"] == 2, f"parent lookup: totalSize {answer['totalSize']}")
    for child in answer["records"]:
        check_record(child, "Contact", version, "parent lookup Contact", ["Id", "LastName", "Account"])
        check_record(child["Account"], "Account", version, "parent lookup Account", ["Name"])
        check(
            child["Account"]["Name"] == "Client Library Check",
            f"parent lookup: Account.Name {child['Account']['Name']!r}",
        )
    check(
        [c["LastName"] for c in answer["records"]] == ["Lovelace", "Turing"],
        "parent lookup: ORDER BY LastName not followed",
    )

    # Get the whole record.
    got = sf.Contact.get(ada)
    check_record(got, "Contact", version, "Contact.get")
    check(got["Id"] == ada, f"Contact.get: Id {got['Id']!r}")
    check(
        (got["FirstName"], got["LastName"], got["AccountId"], got["Email"], got["IsDeleted"])
        == ("Ada", "Lovelace", account, "ada@example.com", False),
        f"Contact.get: fields {dict(got)}",
    )
    for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
        parse_datetime(got[name], f"Contact.get {name}")

    # Update: 204, and the change and a later LastModifiedDate are visible.
    status = sf.Contact.update(ada, {"Title": "Analyst"})
    check(status == 204, f"Contact.update returned {status}, expected 204")
    after = sf.Contact.get(ada)
    check(after["Title"] == "Analyst", f"Contact.update: Title is {after['Title']!r}")
    check(
        parse_datetime(after["LastModifiedDate"], "LastModifiedDate after update")
        > parse_datetime(got["LastModifiedDate"], "LastModifiedDate before update"),
        "Contact.update: LastModifiedDate did not move forward",
    )

    # Delete: 204, then the row answers 404 (ENTITY_IS_DELETED).
    status = sf.Contact.delete(alan)
    check(status == 204, f"Contact.delete returned {status}, expected 204")
    try:
        sf.Contact.get(alan)
        raise Mismatch("Contact.get of a deleted Contact succeeded")
    except SalesforceResourceNotFound as err:
        codes = [e.get("errorCode") for e in err.content] if isinstance(err.content, list) else []
        check(codes == ["ENTITY_IS_DELETED"], f"deleted Contact.get: {err.content!r}")

    # queryAll still sees the deleted Contact, with the time it was deleted.
    bin_row = sf.query_all(
        f"SELECT Id, IsDeleted, SystemModstamp FROM Contact WHERE Id = '{alan}'",
        include_deleted=True,
    )["records"]
    check(
        len(bin_row) == 1 and bin_row[0]["IsDeleted"] is True,
        f"queryAll: deleted Contact {[dict(r) for r in bin_row]}",
    )
    alan_deleted_at = parse_datetime(bin_row[0]["SystemModstamp"], "deleted SystemModstamp")

    # Updated Contacts over the last half hour: {ids, latestDateCovered}.
    start, end = started - timedelta(minutes=30), datetime.now(timezone.utc)
    updated = sf.Contact.updated(start, end)
    check(
        set(updated) == {"ids", "latestDateCovered"},
        f"updated: keys {list(updated)}, expected ids and latestDateCovered",
    )
    check(
        isinstance(updated["latestDateCovered"], str) and MINUTE.match(updated["latestDateCovered"]),
        f"updated: latestDateCovered is not a whole-minute dateTime: {updated['latestDateCovered']!r}",
    )
    covered = parse_datetime(updated["latestDateCovered"], "updated latestDateCovered")
    check(
        start - timedelta(minutes=1) < covered <= end,
        f"updated: latestDateCovered {covered} outside [{start}, {end}]",
    )
    ids = updated["ids"]
    check(isinstance(ids, list), f"updated: ids is not a list: {ids!r}")
    for old in old_contacts:
        check(old in ids, f"updated: Contact {old}, changed minutes ago, is missing from {ids}")
    check(deleted_contact not in ids, f"updated: deleted Contact {deleted_contact} is listed")
    check(alan not in ids, f"updated: deleted Contact {alan} is listed")
    ada_changed = parse_datetime(after["SystemModstamp"], "SystemModstamp after update")
    check(
        (ada in ids) == (ada_changed < covered),
        f"updated: Contact {ada} changed at {ada_changed} against latestDateCovered {covered}: "
        f"{'listed' if ada in ids else 'not listed'}",
    )

    # Deleted Contacts: {deletedRecords: [{id, deletedDate}], earliestDateAvailable,
    # latestDateCovered}.
    deleted = sf.Contact.deleted(start, end)
    check(
        set(deleted) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"},
        f"deleted: keys {list(deleted)}",
    )
    for key in ("earliestDateAvailable", "latestDateCovered"):
        check(
            isinstance(deleted[key], str) and MINUTE.match(deleted[key]),
            f"deleted: {key} is not a whole-minute dateTime: {deleted[key]!r}",
        )
    covered = parse_datetime(deleted["latestDateCovered"], "deleted latestDateCovered")
    earliest = parse_datetime(deleted["earliestDateAvailable"], "deleted earliestDateAvailable")
    check(earliest <= start, f"deleted: earliestDateAvailable {earliest} after start {start}")
    check(
        start - timedelta(minutes=1) < covered <= end,
        f"deleted: latestDateCovered {covered} outside [{start}, {end}]",
    )
    records = deleted["deletedRecords"]
    check(isinstance(records, list), f"deleted: deletedRecords is not a list: {records!r}")
    by_id = {}
    for entry in records:
        check(
            set(entry) == {"id", "deletedDate"},
            f"deleted: entry {dict(entry)} is not {{id, deletedDate}}",
        )
        by_id[entry["id"]] = parse_datetime(entry["deletedDate"], "deletedDate")
    check(
        deleted_contact in by_id,
        f"deleted: Contact {deleted_contact}, deleted minutes ago, is missing from {records}",
    )
    check(
        start - timedelta(minutes=1) < by_id[deleted_contact] < covered,
        f"deleted: deletedDate {by_id[deleted_contact]} outside the window",
    )
    check(
        (alan in by_id) == (alan_deleted_at < covered),
        f"deleted: Contact {alan} deleted at {alan_deleted_at} against latestDateCovered "
        f"{covered}: {'listed' if alan in by_id else 'not listed'}",
    )
    if alan in by_id:
        check(by_id[alan] == alan_deleted_at, f"deleted: deletedDate of {alan} is {by_id[alan]}")
    check(ada not in by_id, f"deleted: live Contact {ada} is listed")

    # Paging: the first page points at the next with nextRecordsUrl, each page carries the full
    # totalSize, and query_all follows the pages to the end.
    soql = "SELECT Id, LastName FROM Contact ORDER BY CreatedDate"
    live = set(old_contacts) | {ada}
    page = sf.query(soql)
    paged, pages = [], 1
    while True:
        check(
            page["totalSize"] == len(live),
            f"query page {pages}: totalSize {page['totalSize']}, expected {len(live)}",
        )
        paged.extend(page["records"])
        if page["done"]:
            check("nextRecordsUrl" not in page, f"query page {pages}: done with a nextRecordsUrl")
            break
        next_url = page.get("nextRecordsUrl", "")
        check(
            next_url.startswith(f"/services/data/v{version}/query/"),
            f"query page {pages}: not done but nextRecordsUrl is {next_url!r}",
        )
        check(pages < 100, "query: more than 100 pages")
        page = sf.query_more(next_url, identifier_is_url=True)
        pages += 1
    everything = sf.query_all(soql)
    check(
        everything["totalSize"] == len(live) and {r["Id"] for r in everything["records"]} == live,
        f"query_all: got {[r['Id'] for r in everything['records']]}, expected {sorted(live)}",
    )
    check(
        [r["Id"] for r in everything["records"]] == [r["Id"] for r in paged],
        "query_all: records differ from the pages read one by one",
    )
    for record in everything["records"]:
        check_record(record, "Contact", version, "query_all Contact", ["Id", "LastName"])
    with_bin = sf.query_all("SELECT Id, IsDeleted FROM Contact", include_deleted=True)
    binned = {r["Id"] for r in with_bin["records"] if r["IsDeleted"]}
    check(
        {r["Id"] for r in with_bin["records"]} == live | {alan, deleted_contact}
        and binned == {alan, deleted_contact},
        f"query_all(include_deleted): {[dict(r) for r in with_bin['records']]}",
    )

    usage = sf.api_usage.get("api-usage")
    check(
        usage is not None and usage.used > 0 and usage.total > usage.used,
        f"Sforce-Limit-Info not read: {sf.api_usage!r}",
    )

    return (
        f"simple-salesforce ok against {sf.sf_instance} (v{version}): Account {account} with "
        f"Contacts {ada} and {alan} (subquery, parent lookup, get, update 204, delete 204), "
        f"updated {len(ids)} id(s), deleted {len(records)} record(s), query_all "
        f"{everything['totalSize']} record(s) over {pages} page(s), API usage "
        f"{usage.used}/{usage.total}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--instance-url", required=True)
    parser.add_argument("--session-id", required=True)
    parser.add_argument("--version", required=True, help="API version, e.g. 62.0")
    parser.add_argument("--old-contact", action="append", default=[], required=True)
    parser.add_argument("--deleted-contact", required=True)
    args = parser.parse_args()
    try:
        sf = connect(args.instance_url, args.session_id, args.version)
        summary = run(sf, args.version, args.old_contact, args.deleted_contact)
    except Mismatch as err:
        sys.exit(f"simple-salesforce check failed: {err}")
    except SalesforceError as err:
        sys.exit(f"simple-salesforce check failed: the org refused a call: {err}")
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        traceback.print_exc()
        sys.exit(f"simple-salesforce check failed: an answer of an unexpected shape: {err!r}")
    print(summary)


if __name__ == "__main__":
    main()
