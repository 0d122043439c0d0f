/* Unit tests of the one error mapping every engine goes through
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <libsoup/soup.h>

#include "bt-error.h"
#include "bt-error-map.h"

typedef struct
{
  GQuark (*domain) (void);
  int code;
  BtErrorStatus status;
  gboolean transient;
} GErrorCase;

static GQuark
soup_session_error (void)
{
  return SOUP_SESSION_ERROR;
}

static const GErrorCase gerror_cases[] = {
  { g_resolver_error_quark, G_RESOLVER_ERROR_NOT_FOUND, BT_ERROR_STATUS_HOST_NAME_NOT_RESOLVED,
    TRUE },
  { g_resolver_error_quark, G_RESOLVER_ERROR_TEMPORARY_FAILURE,
    BT_ERROR_STATUS_HOST_NAME_NOT_RESOLVED, TRUE },
  { g_tls_error_quark, G_TLS_ERROR_BAD_CERTIFICATE, BT_ERROR_STATUS_CERTIFICATE_INVALID, FALSE },
  { g_tls_error_quark, G_TLS_ERROR_NOT_TLS, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE },
  { g_tls_error_quark, G_TLS_ERROR_HANDSHAKE, BT_ERROR_STATUS_CERTIFICATE_INVALID, FALSE },
  { g_tls_error_quark, G_TLS_ERROR_EOF, BT_ERROR_STATUS_CONNECTION_RESET, TRUE },
  { soup_session_error, SOUP_SESSION_ERROR_PARSING, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE },
  { bt_error_quark, BT_ERROR_ACCESS_DENIED, BT_ERROR_STATUS_FORBIDDEN, FALSE },
  { bt_error_quark, BT_ERROR_FAILED, BT_ERROR_STATUS_RESOURCE_CHANGED, FALSE },
  { g_io_error_quark, G_IO_ERROR_CONNECTION_REFUSED, BT_ERROR_STATUS_CANNOT_CONNECT, TRUE },
  { g_io_error_quark, G_IO_ERROR_HOST_UNREACHABLE, BT_ERROR_STATUS_CANNOT_CONNECT, TRUE },
  { g_io_error_quark, G_IO_ERROR_NETWORK_UNREACHABLE, BT_ERROR_STATUS_CANNOT_CONNECT, TRUE },
  { g_io_error_quark, G_IO_ERROR_HOST_NOT_FOUND, BT_ERROR_STATUS_CANNOT_CONNECT, TRUE },
  { g_io_error_quark, G_IO_ERROR_TIMED_OUT, BT_ERROR_STATUS_TIMEOUT, TRUE },
  { g_io_error_quark, G_IO_ERROR_NO_SPACE, BT_ERROR_STATUS_DISK_FULL, FALSE },
  { g_io_error_quark, G_IO_ERROR_PERMISSION_DENIED, BT_ERROR_STATUS_DESTINATION_UNWRITABLE, FALSE },
  { g_io_error_quark, G_IO_ERROR_READ_ONLY, BT_ERROR_STATUS_DESTINATION_UNWRITABLE, FALSE },
  { g_io_error_quark, G_IO_ERROR_CONNECTION_CLOSED, BT_ERROR_STATUS_CONNECTION_RESET, TRUE },
  { g_io_error_quark, G_IO_ERROR_BROKEN_PIPE, BT_ERROR_STATUS_CONNECTION_RESET, TRUE },
  { g_io_error_quark, G_IO_ERROR_FAILED, BT_ERROR_STATUS_CONNECTION_RESET, TRUE },
  { g_option_error_quark, G_OPTION_ERROR_FAILED, BT_ERROR_STATUS_UNKNOWN, FALSE },
};

static void
test_gerror (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (gerror_cases); i++)
    {
      const GErrorCase *c = &gerror_cases[i];
      g_autoptr (GError) error = g_error_new_literal (c->domain (), c->code, "x");
      gboolean transient = !c->transient;

      g_test_message ("%s %d", g_quark_to_string (error->domain), c->code);
      g_assert_cmpint (bt_error_status_for_gerror (error, &transient), ==, c->status);
      g_assert_cmpint (transient, ==, c->transient);
    }
}

typedef struct
{
  guint code;
  BtErrorStatus status;
  gboolean transient;
} CodeCase;

/* docs/contract.md: retried are 408, 429 and 5xx; other 4xx are not */
static const CodeCase http_cases[] = {
  { 400, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE },
  { 401, BT_ERROR_STATUS_UNAUTHORIZED, FALSE },
  { 403, BT_ERROR_STATUS_FORBIDDEN, FALSE },
  { 404, BT_ERROR_STATUS_NOT_FOUND, FALSE },
  { 405, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE },
  { 407, BT_ERROR_STATUS_PROXY_AUTHENTICATION_REQUIRED, FALSE },
  { 408, BT_ERROR_STATUS_SERVICE_UNAVAILABLE, TRUE },
  { 410, BT_ERROR_STATUS_GONE, FALSE },
  { 413, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE },
  { 416, BT_ERROR_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE, FALSE },
  { 429, BT_ERROR_STATUS_SERVICE_UNAVAILABLE, TRUE },
  { 500, BT_ERROR_STATUS_SERVER_ERROR, TRUE },
  { 502, BT_ERROR_STATUS_SERVER_ERROR, TRUE },
  { 503, BT_ERROR_STATUS_SERVICE_UNAVAILABLE, TRUE },
  { 504, BT_ERROR_STATUS_SERVER_ERROR, TRUE },
  { 599, BT_ERROR_STATUS_SERVER_ERROR, TRUE },
  { 600, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE },
  { 304, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE },
};

/* docs/contract.md: 4yz transient, 5yz permanent; 530 unauthorized, 550 not-found */
static const CodeCase ftp_cases[] = {
  { 421, BT_ERROR_STATUS_SERVICE_UNAVAILABLE, TRUE },
  { 425, BT_ERROR_STATUS_CANNOT_CONNECT, TRUE },
  { 426, BT_ERROR_STATUS_CONNECTION_RESET, TRUE },
  { 450, BT_ERROR_STATUS_SERVICE_UNAVAILABLE, TRUE },
  { 451, BT_ERROR_STATUS_SERVICE_UNAVAILABLE, TRUE },
  { 452, BT_ERROR_STATUS_SERVICE_UNAVAILABLE, TRUE },
  { 500, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE },
  { 501, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE },
  { 502, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE },
  { 522, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE },
  { 530, BT_ERROR_STATUS_UNAUTHORIZED, FALSE },
  { 532, BT_ERROR_STATUS_UNAUTHORIZED, FALSE },
  { 550, BT_ERROR_STATUS_NOT_FOUND, FALSE },
  { 551, BT_ERROR_STATUS_NOT_FOUND, FALSE },
  { 552, BT_ERROR_STATUS_SERVER_ERROR, FALSE },
  { 553, BT_ERROR_STATUS_NOT_FOUND, FALSE },
};

static void
check_codes (const CodeCase *cases, gsize n, BtErrorStatus (*map) (guint, gboolean *))
{
  for (gsize i = 0; i < n; i++)
    {
      gboolean transient = !cases[i].transient;

      g_test_message ("%u", cases[i].code);
      g_assert_cmpint (map (cases[i].code, &transient), ==, cases[i].status);
      g_assert_cmpint (transient, ==, cases[i].transient);
    }
}

static void
test_http (void)
{
  check_codes (http_cases, G_N_ELEMENTS (http_cases), bt_error_status_for_http);
}

static void
test_ftp (void)
{
  check_codes (ftp_cases, G_N_ELEMENTS (ftp_cases), bt_error_status_for_ftp);
}

static void
test_retry_after (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_utc (2026, 12, 2, 12, 0, 0);
  static const struct
  {
    const char *value;
    guint seconds;
  } cases[] = {
    { NULL, 0 },
    { "", 0 },
    { "garbage", 0 },
    { "-5", 0 },
    { "0", 1 },
    { "1", 1 },
    { " 17", 17 },
    { "3600", 3600 },
    { "86400", 3600 },
    { "99999999999999999999999", 3600 },
    { "12abc", 0 },
    { "Wed, 02 Dec 2026 12:00:30 GMT", 30 },
    { "Wed, 02 Dec 2026 11:00:00 GMT", 1 },
    { "Thu, 03 Dec 2026 12:00:00 GMT", 3600 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("“%s”", cases[i].value != NULL ? cases[i].value : "(null)");
      g_assert_cmpuint (bt_retry_after_parse (cases[i].value, now), ==, cases[i].seconds);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/error-map/gerror", test_gerror);
  g_test_add_func ("/error-map/http", test_http);
  g_test_add_func ("/error-map/ftp", test_ftp);
  g_test_add_func ("/error-map/retry-after", test_retry_after);
  return g_test_run ();
}
