# test_api_coverage.py: every member of the D-Bus interface, and every
# option of the Manager's methods, has a counterpart in libbgtransfer that
# the suites call
#
# The interface is read from data/org.freedesktop.BackgroundTransfer.xml:
# its methods, properties and signals (GDBusNodeInfo), and the option
# names its documentation lists for each Manager method. MAPPING names the
# library's symbol(s) for each; a symbol must exist in the Bgt typelib
# (GI) and appear, called the way Python calls it, in an integration test.
# A member or option added to the interface without a library counterpart
# fails here, and so does a counterpart no test uses.
#
# It also holds the library to its visibility rules: the symbols the
# shared library exports are exactly those of the GIR, and every public
# declaration carries BGT_AVAILABLE_IN_*.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import glob
import os
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest
from bgtharness import BUILDDIR, SRCDIR, Bgt, Gio, GLib, require_tool

from gi.repository import GObject

XML = os.path.join(SRCDIR, "data", "org.freedesktop.BackgroundTransfer.xml")
PREFIX = "org.freedesktop.BackgroundTransfer."

# Symbols: "Class.function" (a method or constructor of Bgt.Class),
# "function" (of the namespace), "Class:property", "Class::signal"
MAPPING = {
    # ---- Manager
    ("Manager", "method", "CreateDownload"): [
        "Downloader.create_download_async", "Downloader.create_download_finish",
        "Downloader.create_download_for_fd_async", "Downloader.create_download_for_fd_finish"],
    ("Manager", "method", "CreateUpload"): [
        "Uploader.create_upload_async", "Uploader.create_upload_finish",
        "Uploader.create_upload_for_fd_async", "Uploader.create_upload_for_fd_finish",
        "Uploader.create_multipart_upload_async", "Uploader.create_multipart_upload_finish"],
    ("Manager", "method", "GetTransfers"): [
        "Client.list_transfers_async", "Client.list_transfers_finish",
        "Client.find_transfers_async", "Client.find_transfers_finish",
        "Client.get_transfer_async", "Client.get_transfer_finish"],
    ("Manager", "method", "ConfigureGroup"): [
        "TransferGroup.set_behavior_async", "TransferGroup.set_behavior_finish",
        "Client.configure_group_async", "Client.configure_group_finish"],
    ("Manager", "method", "CreateCompletionGroup"): [
        "Client.create_completion_group_async", "Client.create_completion_group_finish"],
    ("Manager", "signal", "TransferAdded"): ["Client.list_transfers_async"],
    ("Manager", "signal", "TransferRemoved"): ["Client.list_transfers_async"],
    ("Manager", "property", "Version"): ["Client:service-version",
                                         "Client.get_service_version"],
    ("Manager", "property", "NetworkState"): ["Client:network-state",
                                              "Client.get_network_state"],
    ("Manager", "property", "PowerState"): ["Client:power-state", "Client.get_power_state"],
    # ---- Transfer
    ("Transfer", "method", "Start"): ["Transfer.start_async", "Transfer.start_finish"],
    ("Transfer", "method", "Pause"): ["Transfer.pause_async", "Transfer.pause_finish"],
    ("Transfer", "method", "Resume"): ["Transfer.resume_async", "Transfer.resume_finish"],
    ("Transfer", "method", "Cancel"): ["Transfer.cancel_async", "Transfer.cancel_finish"],
    ("Transfer", "method", "Remove"): ["Transfer.remove_async", "Transfer.remove_finish"],
    ("Transfer", "method", "SetPriority"): ["Transfer.set_priority_async",
                                            "Transfer.set_priority_finish"],
    ("Transfer", "method", "SetCostPolicy"): ["Transfer.set_cost_policy_async",
                                              "Transfer.set_cost_policy_finish"],
    ("Transfer", "method", "SetRequestedUri"): ["Transfer.set_requested_uri_async",
                                                "Transfer.set_requested_uri_finish"],
    ("Transfer", "method", "OpenResult"): ["Download.open_result_async",
                                           "Download.open_result_finish",
                                           "Download.open_result_stream_async",
                                           "Download.open_result_stream_finish"],
    ("Transfer", "method", "RequestRange"): ["Download.request_range_async",
                                             "Download.request_range_finish",
                                             "ResultStream.get_size", "ResultStream.has_data",
                                             "ResultStream.get_download"],
    ("Transfer", "method", "OpenResponse"): ["Upload.open_response_async",
                                             "Upload.open_response_finish"],
    ("Transfer", "signal", "RangesAdded"): ["Transfer::ranges-added"],
    ("Transfer", "property", "Id"): ["Transfer:id", "Transfer.get_id"],
    ("Transfer", "property", "Kind"): ["Transfer:kind", "Transfer.get_kind"],
    ("Transfer", "property", "Uri"): ["Transfer:uri", "Transfer.get_uri"],
    ("Transfer", "property", "ActualUri"): ["Transfer:actual-uri", "Transfer.get_actual_uri"],
    ("Transfer", "property", "Destination"): ["Download:destination",
                                              "Download.get_destination"],
    ("Transfer", "property", "Source"): ["Upload:source", "Upload.get_source"],
    ("Transfer", "property", "Method"): ["Transfer:method", "Transfer.get_method"],
    ("Transfer", "property", "Status"): ["Transfer:status", "Transfer.get_status",
                                         "Transfer.wait_async", "Transfer.wait_finish",
                                         "Transfer.wait_sync", "Transfer.is_finished"],
    ("Transfer", "property", "BytesReceived"): ["Transfer:bytes-received",
                                                "Transfer.get_bytes_received",
                                                "Transfer:progress", "Transfer.get_progress"],
    ("Transfer", "property", "TotalBytesToReceive"): ["Transfer:total-bytes-to-receive",
                                                      "Transfer.get_total_bytes_to_receive"],
    ("Transfer", "property", "BytesSent"): ["Transfer:bytes-sent", "Transfer.get_bytes_sent"],
    ("Transfer", "property", "TotalBytesToSend"): ["Transfer:total-bytes-to-send",
                                                   "Transfer.get_total_bytes_to_send"],
    ("Transfer", "property", "Priority"): ["Transfer:priority", "Transfer.get_priority"],
    ("Transfer", "property", "CostPolicy"): ["Transfer:cost-policy", "Transfer.get_cost_policy"],
    ("Transfer", "property", "Group"): ["Transfer:group", "Transfer.get_group"],
    ("Transfer", "property", "Tag"): ["Transfer:tag", "Transfer.get_tag"],
    ("Transfer", "property", "CreatedTime"): ["Transfer.get_created_time"],
    ("Transfer", "property", "CompletedTime"): ["Transfer.get_completed_time"],
    ("Transfer", "property", "HttpStatus"): ["Transfer:http-status", "Transfer.get_http_status"],
    ("Transfer", "property", "ResponseHeaders"): ["Transfer:response-headers",
                                                  "Transfer.dup_response_headers"],
    ("Transfer", "property", "IsResumable"): ["Transfer.get_is_resumable"],
    ("Transfer", "property", "RangesDownloaded"): ["Transfer:ranges", "Transfer.dup_ranges"],
    ("Transfer", "property", "Rate"): ["Transfer.get_rate"],
    ("Transfer", "property", "Attempts"): ["Transfer:attempts", "Transfer.get_attempts"],
    ("Transfer", "property", "ErrorStatus"): ["Transfer:error-status",
                                              "Transfer.get_error_status",
                                              "error_status_get_description"],
    ("Transfer", "property", "ErrorMessage"): ["Transfer:error-message",
                                               "Transfer.get_error_message"],
    # ---- CompletionGroup
    ("CompletionGroup", "method", "Enable"): ["CompletionGroup.enable_async",
                                              "CompletionGroup.enable_finish"],
    ("CompletionGroup", "signal", "Completed"): ["CompletionGroup::completed"],
    ("CompletionGroup", "property", "Enabled"): ["CompletionGroup:enabled",
                                                 "CompletionGroup.get_enabled"],
    ("CompletionGroup", "property", "Action"): ["CompletionGroup:action",
                                                "CompletionGroup.get_action"],
    ("CompletionGroup", "property", "Members"): ["CompletionGroup:members",
                                                 "CompletionGroup.get_members",
                                                 "CompletionGroup.refresh_async"],
}

# The options, by method; what CreateDownload and CreateUpload share maps
# to the same property on both creators
SHARED = {
    "app-id": ["Client.get_app_id", "Client:app-id"],
    "headers": ["{C}.set_request_header"],
    "cost-policy": ["{C}:cost-policy", "{C}.set_cost_policy"],
    "priority": ["{C}:priority", "{C}.set_priority"],
    "group": ["{C}:group", "{C}.set_group"],
    "completion-group": ["{C}:completion-group", "{C}.set_completion_group"],
    "server-credential": ["{C}.set_server_credential"],
    "proxy-credential": ["{C}.set_proxy_credential"],
    "username": ["{C}.set_server_credential"],
    "password": ["{C}.set_server_credential"],
    "max-rate": ["{C}:max-rate", "{C}.set_max_rate"],
    "start": ["{C}:start", "{C}.set_start"],
    "tag": ["{C}:tag", "{C}.set_tag"],
    "notify": ["{C}:show-notifications", "{C}.set_notification_texts"],
    "success-title": ["{C}:notify-success-title"],
    "success-body": ["{C}:notify-success-body"],
    "failure-title": ["{C}:notify-failure-title"],
    "failure-body": ["{C}:notify-failure-body"],
    "method": ["{C}:method", "{C}.set_method"],
}
SUBKEYS = {"username", "password", "success-title", "success-body", "failure-title",
           "failure-body"}
OPTIONS = {
    "CreateDownload": dict({k: [s.format(C="Downloader") for s in v] for k, v in SHARED.items()},
                           **{
        "destination": ["Downloader.create_download_async"],
        "destination-fd": ["Downloader.create_download_for_fd_async"],
        "overwrite": ["Downloader:overwrite", "Downloader.get_overwrite"],
        "checksum": ["Downloader:checksum", "Downloader.set_checksum"],
        "mirrors": ["Downloader:mirrors", "Downloader.set_mirrors", "Downloader.get_mirrors"],
        "connections": ["Downloader:connections", "Downloader.set_connections",
                        "Downloader.get_connections"],
        "if-changed": ["Downloader:if-changed", "Downloader.set_if_changed",
                       "Downloader.get_if_changed"],
        "random-access": ["Downloader:random-access", "Downloader.set_random_access",
                          "Downloader.get_random_access"],
    }),
    # CreateUpload's documentation lists the shared keys, not their keys
    "CreateUpload": dict({k: [s.format(C="Uploader") for s in v] for k, v in SHARED.items()
                          if k not in SUBKEYS}, **{
        "source": ["Uploader.create_upload_async"],
        "source-fd": ["Uploader.create_upload_for_fd_async"],
        "parts": ["Uploader.create_multipart_upload_async"],
        "name": ["ContentPart:name", "ContentPart.get_name"],
        "filename": ["ContentPart:filename", "ContentPart.set_filename",
                     "ContentPart.get_filename"],
        "content-type": ["ContentPart:content-type", "ContentPart.set_content_type",
                         "ContentPart.get_content_type"],
        "file": ["ContentPart.new_for_file"],
        "fd": ["ContentPart.new_for_fd"],
        "value": ["ContentPart.new_for_value", "ContentPart.new_for_bytes"],
        "protocol": ["Uploader:resumable", "Uploader.set_resumable", "Uploader.get_resumable"],
        "response-destination": ["Uploader:response-destination",
                                 "Uploader.set_response_destination",
                                 "Uploader.get_response_destination",
                                 "Uploader.set_response_destination_fd"],
    }),
    "GetTransfers": {
        "app-id": ["Client:app-id"],
        "group": ["Client.find_transfers_async", "TransferGroup.list_transfers_async",
                  "TransferGroup.list_transfers_finish"],
        "status": ["Client.find_transfers_async"],
        "kind": ["Client.find_transfers_async"],
    },
    "ConfigureGroup": {
        "app-id": ["Client:app-id"],
        "behavior": ["TransferGroup:behavior", "TransferGroup.get_behavior",
                     "TransferGroup.set_behavior_async"],
    },
    "CreateCompletionGroup": {
        "app-id": ["Client:app-id"],
        "action": ["CompletionGroup:action", "Client.create_completion_group_async"],
    },
}
# Options of docs/contract.md that the XML does not document yet; anything else in
# OPTIONS must be in the XML, so that the map stays true
NOT_IN_XML_YET = set()


def interface_members():
    with open(XML) as f:
        node = Gio.DBusNodeInfo.new_for_xml(f.read())
    members = set()
    for iface in node.interfaces:
        short = iface.name[len(PREFIX):]
        members |= {(short, "method", m.name) for m in iface.methods}
        members |= {(short, "signal", s.name) for s in iface.signals}
        members |= {(short, "property", p.name) for p in iface.properties}
    return members


def documented_options():
    """{method: {option}}: the option names the XML's documentation of each
    Manager method lists (`* name (type)` items, `"name" (type)` in prose,
    and CreateUpload's list of the keys it shares with CreateDownload)."""
    with open(XML) as f:
        text = f.read()
    manager = text[text.index('interface name="org.freedesktop.BackgroundTransfer.Manager"'):
                   text.index('interface name="org.freedesktop.BackgroundTransfer.Transfer"')]
    found = {}
    for doc, method in re.findall(r"<!--(.*?)-->\s*<method name=\"(\w+)\"", manager, re.S):
        names = set()
        for item in re.findall(r"^\s*\* ([a-z][a-z-]*(?:, [a-z][a-z-]*)*) \(", doc, re.M):
            names |= {n.strip() for n in item.split(",")}
        names |= set(re.findall(r"\) or ([a-z][a-z-]*) \(", doc))
        for run, types in re.findall(
                r'((?:"[a-z][a-z-]*"(?:,\s*|\s+and\s+|\s+or\s+)?)+)\s*\(([^)]*\)?)\)', doc):
            # "name" (type), not "restart" (default)
            if all(GLib.VariantType.string_is_valid(t) for t in types.split(" or ")):
                names |= set(re.findall(r'"([a-z][a-z-]*)"', run))
        shared = re.search(r"common keys of CreateDownload\s*\(([^)]*)\)", doc, re.S)
        if shared:
            names |= {n.strip() for n in shared.group(1).replace("\n", " ").split(",")}
        found[method] = names
    return found


def resolve(symbol):
    """Whether the Bgt typelib has the symbol."""
    if "::" in symbol:
        cls, signal = symbol.split("::")
        getattr(Bgt, cls).list_properties()  # initializes the class: its signals
        return GObject.signal_lookup(signal, getattr(Bgt, cls)) != 0
    if ":" in symbol:
        cls, prop = symbol.split(":")
        return prop in [p.name for p in getattr(Bgt, cls).list_properties()]
    if "." in symbol:
        cls, name = symbol.split(".")
        return callable(getattr(getattr(Bgt, cls), name, None))
    return callable(getattr(Bgt, symbol, None))


_sources = []


def read_test_sources():
    if _sources:
        return _sources[0]
    out = ""
    for path in sorted(glob.glob(os.path.join(SRCDIR, "tests", "integration", "test_*.py"))):
        if os.path.basename(path) != os.path.basename(__file__):
            with open(path) as f:
                out += f.read()
    _sources.append(out)
    return out


def exercised(symbol, sources):
    """Whether a test calls the symbol, spelt the way Python does."""
    if "::" in symbol:
        signal = symbol.split("::")[1]
        pattern = rf"connect\(\s*[\"']{re.escape(signal)}[\"']"
    elif ":" in symbol:
        prop = symbol.split(":")[1]
        u = prop.replace("-", "_")
        pattern = (rf"\.props\.{u}\b|\.(?:get|set)_{u}\(|\b{u}=|notify::{re.escape(prop)}\b"
                   rf"|set_property\(\s*[\"']{re.escape(prop)}")
    else:
        cls, _, name = symbol.rpartition(".")
        base = re.sub(r"_(async|finish)$", "", name)
        if cls and name.startswith("new"):
            pattern = rf"\b{cls}\.{name}\("
        elif not cls:
            pattern = rf"\bBgt\.{name}\("
        else:
            # obj.name(…), or through bgtharness.call(obj, "base", …)
            pattern = rf"\.{re.escape(name)}\(|\.{base}_async\(|call\([^,\n]+,\s*[\"']{base}[\"']"
    return re.search(pattern, sources) is not None


def test_every_member_has_a_library_counterpart():
    members = interface_members()
    missing = sorted(members - set(MAPPING))
    assert not missing, f"D-Bus members without a library counterpart in MAPPING: {missing}"
    stale = sorted(set(MAPPING) - members)
    assert not stale, f"MAPPING names members the interface does not have: {stale}"


def test_every_option_has_a_library_counterpart():
    documented = documented_options()
    assert set(documented) == set(OPTIONS), "the Manager's methods"
    for method, names in documented.items():
        missing = sorted(names - set(OPTIONS[method]))
        assert not missing, f"{method} options without a library counterpart: {missing}"
        stale = sorted(set(OPTIONS[method]) - names - {o for m, o in NOT_IN_XML_YET
                                                       if m == method})
        assert not stale, f"{method}: OPTIONS names options the XML does not: {stale}"
    # Sanity: the parser finds what the documentation plainly says
    assert {"destination-fd", "proxy-credential", "if-changed", "notify"} <= \
        documented["CreateDownload"]
    assert {"parts", "source-fd", "response-destination", "max-rate"} <= documented["CreateUpload"]
    assert documented["ConfigureGroup"] == {"app-id", "behavior"}


def all_symbols():
    symbols = {s for v in MAPPING.values() for s in v}
    symbols |= {s for opts in OPTIONS.values() for v in opts.values() for s in v}
    return sorted(symbols)


@pytest.mark.parametrize("symbol", all_symbols())
def test_counterpart_exists_and_is_exercised(symbol):
    assert resolve(symbol), f"{symbol} is not in the Bgt typelib"
    assert exercised(symbol, read_test_sources()), f"no integration test calls {symbol}"


# ---- Visibility ---------------------------------------------------------------

def gir_symbols():
    tree = ET.parse(os.path.join(BUILDDIR, "libbgtransfer", "Bgt-1.gir"))
    c = "{http://www.gtk.org/introspection/c/1.0}"
    glib = "{http://www.gtk.org/introspection/glib/1.0}"
    names = set()
    for el in tree.iter():
        tag = el.tag.split("}")[1]
        if tag in ("function", "method", "constructor") and el.get(c + "identifier"):
            names.add(el.get(c + "identifier"))
        if el.get(glib + "get-type"):
            names.add(el.get(glib + "get-type"))
    return names


def test_the_library_exports_exactly_its_public_symbols():
    require_tool("nm", "needs nm (binutils)")
    lib = sorted(glob.glob(os.path.join(BUILDDIR, "libbgtransfer", "libbgtransfer-1.so.*.*")))[0]
    out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True,
                         check=True).stdout
    exported = {line.split()[2] for line in out.splitlines() if line.split()[1] == "T"}
    public = gir_symbols()
    assert not exported - public, f"exported but not public: {sorted(exported - public)}"
    assert not public - exported, f"public but hidden: {sorted(public - exported)}"


def test_every_public_declaration_has_an_availability_macro():
    bad = []
    for header in sorted(glob.glob(os.path.join(SRCDIR, "libbgtransfer", "bgt-*.h"))):
        if header.endswith("-private.h") or os.path.basename(header) in (
                "bgt-private.h", "bgt-request.h", "bgt-call-queue.h"):
            continue
        with open(header) as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            if re.match(r"^(?:const )?\w[\w ]*\**\s*\bbgt_\w+ \(", line) or \
                    line.startswith("G_DECLARE_"):
                if not re.match(r"^BGT_AVAILABLE_IN_(ALL|\d+_\d+)$", lines[i - 1]):
                    bad.append(f"{os.path.basename(header)}:{i + 1}: {line}")
    assert not bad, "declarations without BGT_AVAILABLE_IN_*:\n" + "\n".join(bad)
