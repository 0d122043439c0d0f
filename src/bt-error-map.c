/* bt-error-map.c: one mapping from every kind of failure to an ErrorStatus
 *
 * Every engine reports its failures through these: a GError from GIO,
 * libsoup or our own files, an HTTP status, an FTP reply code. Each gives
 * the ErrorStatus of the interface and whether a retry may help
 * (docs/contract.md "Errors", "Retries and timeouts").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <libsoup/soup.h>

#include "bt-error.h"
#include "bt-error-map.h"

BtErrorStatus
bt_error_status_for_gerror (const GError *error, gboolean *out_transient)
{
  gboolean transient = TRUE;
  BtErrorStatus status;

  if (error->domain == G_RESOLVER_ERROR)
    status = g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_INTERNAL)
                 ? BT_ERROR_STATUS_UNKNOWN
                 : BT_ERROR_STATUS_HOST_NAME_NOT_RESOLVED;
  else if (error->domain == G_TLS_ERROR)
    {
      transient = FALSE;
      status = g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS)
                   ? BT_ERROR_STATUS_PROTOCOL_ERROR
                   : BT_ERROR_STATUS_CERTIFICATE_INVALID;
      /* A handshake cut by the peer is a reset, not a bad certificate */
      if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_EOF))
        {
          transient = TRUE;
          status = BT_ERROR_STATUS_CONNECTION_RESET;
        }
    }
  else if (error->domain == SOUP_SESSION_ERROR)
    {
      transient = FALSE;
      status = BT_ERROR_STATUS_PROTOCOL_ERROR;
    }
  else if (g_error_matches (error, BT_ERROR, BT_ERROR_ACCESS_DENIED))
    {
      /* The local-network rule for sandboxed apps */
      transient = FALSE;
      status = BT_ERROR_STATUS_FORBIDDEN;
    }
  else if (error->domain == BT_ERROR)
    {
      /* Our own source file: unreadable, or changed under us */
      transient = FALSE;
      status = BT_ERROR_STATUS_RESOURCE_CHANGED;
    }
  else if (error->domain == G_IO_ERROR)
    {
      switch (error->code)
        {
          case G_IO_ERROR_CONNECTION_REFUSED:
          case G_IO_ERROR_HOST_UNREACHABLE:
          case G_IO_ERROR_NETWORK_UNREACHABLE:
          case G_IO_ERROR_HOST_NOT_FOUND:
            status = BT_ERROR_STATUS_CANNOT_CONNECT;
            break;
          case G_IO_ERROR_TIMED_OUT:
            status = BT_ERROR_STATUS_TIMEOUT;
            break;
          case G_IO_ERROR_NO_SPACE:
            transient = FALSE;
            status = BT_ERROR_STATUS_DISK_FULL;
            break;
          case G_IO_ERROR_PERMISSION_DENIED:
          case G_IO_ERROR_READ_ONLY:
          case G_IO_ERROR_IS_DIRECTORY:
          case G_IO_ERROR_TOO_MANY_LINKS:
          case G_IO_ERROR_EXISTS:
            transient = FALSE;
            status = BT_ERROR_STATUS_DESTINATION_UNWRITABLE;
            break;
          default:
            status = BT_ERROR_STATUS_CONNECTION_RESET;
            break;
        }
    }
  else
    {
      transient = FALSE;
      status = BT_ERROR_STATUS_UNKNOWN;
    }

  if (out_transient != NULL)
    *out_transient = transient;
  return status;
}

/* Retried: 408, 429, 5xx; not retried: every other 4xx (docs/contract.md) */
BtErrorStatus
bt_error_status_for_http (guint status, gboolean *out_transient)
{
  gboolean transient = FALSE;
  BtErrorStatus error_status;

  switch (status)
    {
      case 401:
        error_status = BT_ERROR_STATUS_UNAUTHORIZED;
        break;
      case 403:
        error_status = BT_ERROR_STATUS_FORBIDDEN;
        break;
      case 404:
        error_status = BT_ERROR_STATUS_NOT_FOUND;
        break;
      case 407:
        error_status = BT_ERROR_STATUS_PROXY_AUTHENTICATION_REQUIRED;
        break;
      case 410:
        error_status = BT_ERROR_STATUS_GONE;
        break;
      case 416:
        error_status = BT_ERROR_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE;
        break;
      case 408:
      case 429:
      case 503:
        error_status = BT_ERROR_STATUS_SERVICE_UNAVAILABLE;
        transient = TRUE;
        break;
      default:
        if (status >= 500 && status < 600)
          {
            error_status = BT_ERROR_STATUS_SERVER_ERROR;
            transient = TRUE;
          }
        else
          error_status = BT_ERROR_STATUS_PROTOCOL_ERROR;
        break;
    }
  if (out_transient != NULL)
    *out_transient = transient;
  return error_status;
}

/* RFC 959 §4.2: 4yz is a transient negative completion, 5yz a permanent
 * one (docs/contract.md: 530 unauthorized, 550 not-found). Anything else where a
 * final answer was due is a server that does not speak FTP as it should. */
BtErrorStatus
bt_error_status_for_ftp (guint code, gboolean *out_transient)
{
  gboolean transient = FALSE;
  BtErrorStatus status;

  switch (code)
    {
      case 421: /* service not available, closing control connection */
        transient = TRUE;
        status = BT_ERROR_STATUS_SERVICE_UNAVAILABLE;
        break;
      case 425: /* cannot open data connection */
        transient = TRUE;
        status = BT_ERROR_STATUS_CANNOT_CONNECT;
        break;
      case 426: /* connection closed; transfer aborted */
        transient = TRUE;
        status = BT_ERROR_STATUS_CONNECTION_RESET;
        break;
      case 430: /* invalid username or password (RFC 2228 era servers) */
      case 530:
      case 532:
        status = BT_ERROR_STATUS_UNAUTHORIZED;
        break;
      case 550:
      case 551: /* page type unknown */
      case 553: /* file name not allowed */
        status = BT_ERROR_STATUS_NOT_FOUND;
        break;
      case 552: /* exceeded storage allocation */
        status = BT_ERROR_STATUS_SERVER_ERROR;
        break;
      case 522: /* TLS: the server wants what we do not do */
      case 534:
      case 533:
        status = BT_ERROR_STATUS_PROTOCOL_ERROR;
        break;
      default:
        if (code >= 400 && code < 500)
          {
            transient = TRUE;
            status = BT_ERROR_STATUS_SERVICE_UNAVAILABLE;
          }
        else
          status = BT_ERROR_STATUS_PROTOCOL_ERROR;
        break;
    }
  if (out_transient != NULL)
    *out_transient = transient;
  return status;
}

/*
 * bt_retry_after_parse:
 * @value: (nullable): a Retry-After header: seconds, or an HTTP date
 * @now: the current time, for a date
 *
 * Returns: the seconds to wait, clamped to 1 s … 1 h; 0 when @value says
 *   nothing usable
 */
guint
bt_retry_after_parse (const char *value, GDateTime *now)
{
  g_autoptr (GDateTime) date = NULL;
  guint64 seconds;
  GTimeSpan diff;

  if (value == NULL)
    return 0;
  while (g_ascii_isspace (*value))
    value++;
  if (g_ascii_isdigit (*value))
    {
      if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, &seconds, NULL))
        return strspn (value, "0123456789") == strlen (value) ? 3600 : 0; /* too large */
      return (guint) CLAMP (seconds, 1, 3600);
    }
  date = soup_date_time_new_from_http_string (value);
  if (date == NULL)
    return 0;
  diff = g_date_time_difference (date, now) / G_USEC_PER_SEC;
  return (guint) CLAMP (diff, 1, 3600);
}
