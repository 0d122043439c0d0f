/* bgt-enums.h: the enumerations of libbgtransfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#include <glib.h>

#include "bgt-version.h"

G_BEGIN_DECLS

/**
 * BgtStatus:
 * @BGT_STATUS_IDLE: created and not started, or waiting in the queue
 * @BGT_STATUS_RUNNING: moving data
 * @BGT_STATUS_PAUSED_BY_APPLICATION: paused by the application
 * @BGT_STATUS_PAUSED_COSTED_NETWORK: waiting for a network its cost policy allows
 * @BGT_STATUS_PAUSED_NO_NETWORK: waiting for the network
 * @BGT_STATUS_PAUSED_SYSTEM_POLICY: held back by the power policy
 * @BGT_STATUS_PAUSED_RECOVERABLE_ERROR: waiting to retry after a transient error
 * @BGT_STATUS_COMPLETED: finished successfully
 * @BGT_STATUS_CANCELED: canceled
 * @BGT_STATUS_ERROR: failed; see #BgtTransfer:error-status
 *
 * Where a transfer stands. The nick of each value is its string on the bus.
 *
 * Since: 0.1
 */
typedef enum
{
  BGT_STATUS_IDLE,
  BGT_STATUS_RUNNING,
  BGT_STATUS_PAUSED_BY_APPLICATION,
  BGT_STATUS_PAUSED_COSTED_NETWORK,
  BGT_STATUS_PAUSED_NO_NETWORK,
  BGT_STATUS_PAUSED_SYSTEM_POLICY,
  BGT_STATUS_PAUSED_RECOVERABLE_ERROR,
  BGT_STATUS_COMPLETED,
  BGT_STATUS_CANCELED,
  BGT_STATUS_ERROR,
} BgtStatus;

/**
 * BgtErrorStatus:
 * @BGT_ERROR_STATUS_NONE: no error
 * @BGT_ERROR_STATUS_HOST_NAME_NOT_RESOLVED: the host name could not be resolved
 * @BGT_ERROR_STATUS_CANNOT_CONNECT: the server could not be reached
 * @BGT_ERROR_STATUS_TIMEOUT: the server stopped answering
 * @BGT_ERROR_STATUS_CONNECTION_RESET: the connection was lost
 * @BGT_ERROR_STATUS_CERTIFICATE_INVALID: the server's certificate is not trusted
 * @BGT_ERROR_STATUS_UNAUTHORIZED: the server wants (other) credentials
 * @BGT_ERROR_STATUS_PROXY_AUTHENTICATION_REQUIRED: the proxy wants (other) credentials
 * @BGT_ERROR_STATUS_FORBIDDEN: the server refused
 * @BGT_ERROR_STATUS_NOT_FOUND: no such resource
 * @BGT_ERROR_STATUS_GONE: the resource is gone
 * @BGT_ERROR_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE: the server refused the range
 * @BGT_ERROR_STATUS_SERVER_ERROR: the server failed
 * @BGT_ERROR_STATUS_SERVICE_UNAVAILABLE: the server is overloaded or down
 * @BGT_ERROR_STATUS_TOO_MANY_REDIRECTS: more than ten redirects
 * @BGT_ERROR_STATUS_INSECURE_REDIRECT: a redirect from https to http
 * @BGT_ERROR_STATUS_RESOURCE_CHANGED: the resource changed during the transfer
 * @BGT_ERROR_STATUS_CHECKSUM_MISMATCH: the data does not match the expected checksum
 * @BGT_ERROR_STATUS_DISK_FULL: no space left; the data so far is kept for resuming
 * @BGT_ERROR_STATUS_DESTINATION_UNWRITABLE: the destination cannot be written
 * @BGT_ERROR_STATUS_PROTOCOL_ERROR: the server broke the protocol
 * @BGT_ERROR_STATUS_UNKNOWN: another failure
 *
 * Why a transfer failed (or waits to retry). The nick of each value but
 * @BGT_ERROR_STATUS_NONE (the empty string on the bus) is its string on
 * the bus.
 *
 * Since: 0.1
 */
typedef enum
{
  BGT_ERROR_STATUS_NONE,
  BGT_ERROR_STATUS_HOST_NAME_NOT_RESOLVED,
  BGT_ERROR_STATUS_CANNOT_CONNECT,
  BGT_ERROR_STATUS_TIMEOUT,
  BGT_ERROR_STATUS_CONNECTION_RESET,
  BGT_ERROR_STATUS_CERTIFICATE_INVALID,
  BGT_ERROR_STATUS_UNAUTHORIZED,
  BGT_ERROR_STATUS_PROXY_AUTHENTICATION_REQUIRED,
  BGT_ERROR_STATUS_FORBIDDEN,
  BGT_ERROR_STATUS_NOT_FOUND,
  BGT_ERROR_STATUS_GONE,
  BGT_ERROR_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE,
  BGT_ERROR_STATUS_SERVER_ERROR,
  BGT_ERROR_STATUS_SERVICE_UNAVAILABLE,
  BGT_ERROR_STATUS_TOO_MANY_REDIRECTS,
  BGT_ERROR_STATUS_INSECURE_REDIRECT,
  BGT_ERROR_STATUS_RESOURCE_CHANGED,
  BGT_ERROR_STATUS_CHECKSUM_MISMATCH,
  BGT_ERROR_STATUS_DISK_FULL,
  BGT_ERROR_STATUS_DESTINATION_UNWRITABLE,
  BGT_ERROR_STATUS_PROTOCOL_ERROR,
  BGT_ERROR_STATUS_UNKNOWN,
} BgtErrorStatus;

/**
 * BgtCostPolicy:
 * @BGT_COST_POLICY_UNRESTRICTED_ONLY: only on unmetered networks
 * @BGT_COST_POLICY_DEFAULT: also on metered networks under the data limit
 * @BGT_COST_POLICY_ALWAYS: on any network, unless background data is restricted
 *
 * On which networks a transfer may run.
 *
 * Since: 0.1
 */
typedef enum
{
  BGT_COST_POLICY_UNRESTRICTED_ONLY,
  BGT_COST_POLICY_DEFAULT,
  BGT_COST_POLICY_ALWAYS,
} BgtCostPolicy;

/**
 * BgtPriority:
 * @BGT_PRIORITY_LOW: after the others; held back in power saver mode
 * @BGT_PRIORITY_DEFAULT: the default; held back in power saver mode
 * @BGT_PRIORITY_HIGH: before the others; runs in power saver mode too
 *
 * The order of the queue.
 *
 * Since: 0.1
 */
typedef enum
{
  BGT_PRIORITY_LOW,
  BGT_PRIORITY_DEFAULT,
  BGT_PRIORITY_HIGH,
} BgtPriority;

/**
 * BgtTransferKind:
 * @BGT_TRANSFER_KIND_DOWNLOAD: a download
 * @BGT_TRANSFER_KIND_UPLOAD: an upload
 *
 * Whether a transfer is a download or an upload. The nick of each value
 * is its string on the bus.
 *
 * Since: 0.1
 */
typedef enum
{
  BGT_TRANSFER_KIND_DOWNLOAD,
  BGT_TRANSFER_KIND_UPLOAD,
} BgtTransferKind;

/**
 * BgtTransferBehavior:
 * @BGT_TRANSFER_BEHAVIOR_PARALLEL: the transfers of a group run side by side
 * @BGT_TRANSFER_BEHAVIOR_SERIALIZED: one at a time, in creation order
 *
 * How a transfer group runs its transfers. The nick of each value is its
 * string on the bus.
 *
 * Since: 0.1
 */
typedef enum
{
  BGT_TRANSFER_BEHAVIOR_PARALLEL,
  BGT_TRANSFER_BEHAVIOR_SERIALIZED,
} BgtTransferBehavior;

/**
 * BgtNetworkState:
 * @BGT_NETWORK_STATE_UNRESTRICTED: an unmetered network
 * @BGT_NETWORK_STATE_METERED: a metered network, under the data limit
 * @BGT_NETWORK_STATE_METERED_OVER_LIMIT: a metered network, over the data limit
 * @BGT_NETWORK_STATE_ROAMING: a mobile network while roaming
 * @BGT_NETWORK_STATE_BACKGROUND_RESTRICTED: the user restricted background data
 * @BGT_NETWORK_STATE_OFFLINE: no network
 *
 * The state of the network as the service's cost policy sees it, which
 * decides whether a transfer of a given #BgtCostPolicy may run. The nick
 * of each value is its string on the bus.
 *
 * Since: 1.0
 */
typedef enum
{
  BGT_NETWORK_STATE_UNRESTRICTED,
  BGT_NETWORK_STATE_METERED,
  BGT_NETWORK_STATE_METERED_OVER_LIMIT,
  BGT_NETWORK_STATE_ROAMING,
  BGT_NETWORK_STATE_BACKGROUND_RESTRICTED,
  BGT_NETWORK_STATE_OFFLINE,
} BgtNetworkState;

/**
 * BgtPowerState:
 * @BGT_POWER_STATE_NORMAL: no power restriction
 * @BGT_POWER_STATE_POWER_SAVER: power saver mode: low and default priority transfers wait
 * @BGT_POWER_STATE_BATTERY_LOW: on a low battery: low and default priority transfers wait
 *
 * The power state as the service sees it. The nick of each value is its
 * string on the bus.
 *
 * Since: 1.0
 */
typedef enum
{
  BGT_POWER_STATE_NORMAL,
  BGT_POWER_STATE_POWER_SAVER,
  BGT_POWER_STATE_BATTERY_LOW,
} BgtPowerState;

/**
 * BgtIfChanged:
 * @BGT_IF_CHANGED_RESTART: download the new version from the start
 * @BGT_IF_CHANGED_FAIL: end in %BGT_ERROR_STATUS_RESOURCE_CHANGED
 *
 * What a download does when the resource changed on the server between
 * two attempts. The nick of each value is its string on the bus.
 *
 * Since: 1.0
 */
typedef enum
{
  BGT_IF_CHANGED_RESTART,
  BGT_IF_CHANGED_FAIL,
} BgtIfChanged;

BGT_AVAILABLE_IN_ALL
gboolean bgt_status_is_finished (BgtStatus status);
BGT_AVAILABLE_IN_ALL
gboolean bgt_status_is_paused (BgtStatus status);
BGT_AVAILABLE_IN_ALL
const char *bgt_status_to_string (BgtStatus status);
BGT_AVAILABLE_IN_ALL
const char *bgt_error_status_to_string (BgtErrorStatus error_status);

BGT_AVAILABLE_IN_ALL
const char *bgt_error_status_get_description (BgtErrorStatus error_status);

G_END_DECLS
