/* bt-names.h: the strings of the D-Bus interface, shared by the service and
 * libbgtransfer so that the two cannot drift (data/org.freedesktop.BackgroundTransfer.xml)
 *
 * Each table is indexed by the value of the matching enumeration on both
 * sides: BtKind and BgtTransferKind, BtStatus and BgtStatus, and so on.
 * Both sides check their enumerations against the lengths below.
 *
 * Linked, with hidden visibility, into both the service and the library:
 * never part of the library's ABI.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BT_N_KIND_NAMES 2
extern const char *const bt_kind_names[BT_N_KIND_NAMES];

#define BT_N_STATUS_NAMES 10
extern const char *const bt_status_names[BT_N_STATUS_NAMES];

/* Index 0, no error, is the empty string on the bus */
#define BT_N_ERROR_STATUS_NAMES 22
extern const char *const bt_error_status_names[BT_N_ERROR_STATUS_NAMES];

#define BT_N_PRIORITY_NAMES 3
extern const char *const bt_priority_names[BT_N_PRIORITY_NAMES];

#define BT_N_COST_POLICY_NAMES 3
extern const char *const bt_cost_policy_names[BT_N_COST_POLICY_NAMES];

/* The Manager's NetworkState and PowerState: BtNetworkState and
 * BgtNetworkState, BtPowerState and BgtPowerState */
#define BT_N_NETWORK_STATE_NAMES 6
extern const char *const bt_network_state_names[BT_N_NETWORK_STATE_NAMES];

#define BT_N_POWER_STATE_NAMES 3
extern const char *const bt_power_state_names[BT_N_POWER_STATE_NAMES];

/* ConfigureGroup's "behavior" and the "if-changed" option, as the library
 * spells them (BgtTransferBehavior, BgtIfChanged); the service checks the
 * same strings in bt-manager.c and bt-transfer.c */
#define BT_N_TRANSFER_BEHAVIOR_NAMES 2
extern const char *const bt_transfer_behavior_names[BT_N_TRANSFER_BEHAVIOR_NAMES];

#define BT_N_IF_CHANGED_NAMES 2
extern const char *const bt_if_changed_names[BT_N_IF_CHANGED_NAMES];

/* The D-Bus error names, as macros so that both sides' GDBusErrorEntry
 * arrays (which need constant initialisers) use the very same strings */
#define BT_DBUS_ERROR_PREFIX "org.freedesktop.BackgroundTransfer.Error."
#define BT_DBUS_ERROR_FAILED BT_DBUS_ERROR_PREFIX "Failed"
#define BT_DBUS_ERROR_INVALID_ARGUMENT BT_DBUS_ERROR_PREFIX "InvalidArgument"
#define BT_DBUS_ERROR_NOT_FOUND BT_DBUS_ERROR_PREFIX "NotFound"
#define BT_DBUS_ERROR_ACCESS_DENIED BT_DBUS_ERROR_PREFIX "AccessDenied"
#define BT_DBUS_ERROR_INVALID_STATE BT_DBUS_ERROR_PREFIX "InvalidState"
#define BT_DBUS_ERROR_QUOTA_EXCEEDED BT_DBUS_ERROR_PREFIX "QuotaExceeded"
#define BT_DBUS_ERROR_UNSUPPORTED_SCHEME BT_DBUS_ERROR_PREFIX "UnsupportedScheme"
/* The service sends org.freedesktop.DBus.Error.NotSupported instead (see
 * src/bt-error.c); the library still registers this one */
#define BT_DBUS_ERROR_NOT_SUPPORTED BT_DBUS_ERROR_PREFIX "NotSupported"
/* Library-only: never sent by the service */
#define BT_DBUS_ERROR_SERVICE_UNAVAILABLE BT_DBUS_ERROR_PREFIX "ServiceUnavailable"
#define BT_DBUS_ERROR_TRANSFER_FAILED BT_DBUS_ERROR_PREFIX "TransferFailed"
#define BT_DBUS_ERROR_TRANSFER_CANCELED BT_DBUS_ERROR_PREFIX "TransferCanceled"

/* Indexed by the error code: BtError (up to BT_ERROR_NOT_SUPPORTED) and
 * BgtError (all of them) */
#define BT_N_DBUS_ERROR_NAMES 11
extern const char *const bt_dbus_error_names[BT_N_DBUS_ERROR_NAMES];

int bt_names_lookup (const char *const *names, gsize n, const char *str);

/* The portal backend the service implements for xdg-desktop-portal
 * (src/bt-portal.c), and who may call it: the frontend, the owner of the
 * frontend's well-known name */
#define BT_PORTAL_INTERFACE "org.freedesktop.impl.portal.BackgroundTransfer"
#define BT_PORTAL_PATH "/org/freedesktop/portal/desktop"
#define BT_PORTAL_FRONTEND_NAME "org.freedesktop.portal.Desktop"

/* xdg-desktop-portal's document portal (src/bt-documents.c) */
#define BT_DOCUMENTS_NAME "org.freedesktop.portal.Documents"
#define BT_DOCUMENTS_PATH "/org/freedesktop/portal/documents"
#define BT_DOCUMENTS_INTERFACE "org.freedesktop.portal.Documents"

/* Members of the Transfer interface and options that both sides name */
#define BT_TRANSFER_METHOD_OPEN_RESULT "OpenResult"
#define BT_TRANSFER_METHOD_REQUEST_RANGE "RequestRange"
#define BT_TRANSFER_PROPERTY_RANGES_DOWNLOADED "RangesDownloaded"
#define BT_TRANSFER_PROPERTY_TOTAL_BYTES "TotalBytesToReceive"
#define BT_TRANSFER_PROPERTY_STATUS "Status"
#define BT_TRANSFER_SIGNAL_RANGES_ADDED "RangesAdded"
#define BT_OPTION_CONNECTIONS "connections"
#define BT_OPTION_RANDOM_ACCESS "random-access"
/* The most connections a download may ask for */
#define BT_MAX_CONNECTIONS 16

G_END_DECLS
