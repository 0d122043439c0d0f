/* Unit tests of the checks of caller input (FAULTS C1, C2, C6)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-error.h"
#include "bt-validate.h"

static void
test_uris (void)
{
  static const struct
  {
    const char *uri;
    int code; /* -1: accepted */
  } cases[] = {
    { "http://example.org/file", -1 },
    { "https://127.0.0.1:8443/a/b?c=d", -1 },
    { "HtTp://127.0.0.1/x", -1 },
    { "http://[::1]:8080/x", -1 },
    { "ftp://127.0.0.1/pub/x", -1 },
    { "ftps://127.0.0.1/pub/x", -1 },
    { "http://127.0.0.1/x#fragment", -1 },
    { "", BT_ERROR_INVALID_ARGUMENT },
    { "http://", BT_ERROR_INVALID_ARGUMENT },
    { "http://[::1", BT_ERROR_INVALID_ARGUMENT },
    { "not a uri", BT_ERROR_INVALID_ARGUMENT },
    { "http://127.0.0.1/a b", BT_ERROR_INVALID_ARGUMENT },
    { "http://127.0.0.1/a\r\nHost: evil", BT_ERROR_INVALID_ARGUMENT },
    /* GLib decodes a host: its line break would be a raw one */
    { "http://a%0D%0AHost:evil/x", BT_ERROR_INVALID_ARGUMENT },
    { "ftp://%7F-", BT_ERROR_INVALID_ARGUMENT }, /* found by fuzz-uri */
    { "http://a%20b/x", BT_ERROR_INVALID_ARGUMENT },
    { "/relative/path", BT_ERROR_INVALID_ARGUMENT },
    { "http://user:SENTINEL@127.0.0.1/", BT_ERROR_INVALID_ARGUMENT },
    { "http://a;b@127.0.0.1/", BT_ERROR_INVALID_ARGUMENT },
    { "http://127.0.0.1/%zz", BT_ERROR_INVALID_ARGUMENT },
    { "file:///etc/passwd", BT_ERROR_UNSUPPORTED_SCHEME },
    { "data:text/plain,hello", BT_ERROR_UNSUPPORTED_SCHEME },
    { "gopher://127.0.0.1/", BT_ERROR_UNSUPPORTED_SCHEME },
    { "javascript:alert(1)", BT_ERROR_UNSUPPORTED_SCHEME },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GUri) uri = bt_validate_uri (cases[i].uri, NULL, &error);

      g_test_message ("URI: %s", cases[i].uri);
      if (cases[i].code < 0)
        {
          g_assert_no_error (error);
          g_assert_nonnull (uri);
          g_assert_null (g_uri_get_fragment (uri));
        }
      else
        {
          g_assert_error (error, BT_ERROR, cases[i].code);
          g_assert_null (uri);
          /* never echo a password */
          g_assert_null (strstr (error->message, "SENTINEL"));
        }
    }
}

static void
test_uri_length (void)
{
  g_autoptr (GString) uri = g_string_new ("http://127.0.0.1/");
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) parsed = NULL;

  while (uri->len < 5000)
    g_string_append_c (uri, 'a');
  parsed = bt_validate_uri (uri->str, NULL, &error);
  g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
  g_assert_null (parsed);
}

static void
test_uri_scheme (void)
{
  BtScheme scheme = BT_SCHEME_FTPS;
  g_autoptr (GUri) uri = bt_validate_uri ("HTTPS://127.0.0.1/", &scheme, NULL);

  g_assert_nonnull (uri);
  g_assert_cmpint (scheme, ==, BT_SCHEME_HTTPS);
}

static void
test_headers (void)
{
  static const struct
  {
    const char *name;
    const char *value;
    gboolean ok;
  } cases[] = {
    { "X-Custom", "value", TRUE },
    { "Authorization", "Bearer abc", TRUE },
    { "Cookie", "a=b; c=d", TRUE },
    { "X-Tab", "a\tb", TRUE },
    { "X-Empty", "", TRUE },
    { "", "v", FALSE },
    { "Bad Name", "v", FALSE },
    { "Bad:Name", "v", FALSE },
    { "X-Crlf", "a\r\nInjected: 1", FALSE },
    { "X-Lf", "a\nb", FALSE },
    { "X-Del", "a\x7f", FALSE },
    { "Host", "evil", FALSE },
    { "content-length", "5", FALSE },
    { "Transfer-Encoding", "chunked", FALSE },
    { "Connection", "close", FALSE },
    { "Upgrade", "h2c", FALSE },
    { "TE", "trailers", FALSE },
    { "Trailer", "x", FALSE },
    { "Keep-Alive", "1", FALSE },
    { "Range", "bytes=0-", FALSE },
    { "If-Range", "\"x\"", FALSE },
    { "Accept-Encoding", "gzip", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      gboolean ok = bt_validate_header (cases[i].name, cases[i].value, &error);

      g_test_message ("Header: %s", cases[i].name);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (!ok)
        g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
    }
}

static void
test_header_too_long (void)
{
  g_autofree char *value = g_strnfill (1024 * 1024, 'a');
  g_autoptr (GError) error = NULL;

  g_assert_false (bt_validate_header ("X-Big", value, &error));
  g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
}

static void
test_secret_headers (void)
{
  g_assert_true (bt_header_is_secret ("authorization"));
  g_assert_true (bt_header_is_secret ("Proxy-Authorization"));
  g_assert_true (bt_header_is_secret ("COOKIE"));
  g_assert_false (bt_header_is_secret ("X-Api"));
}

static void
test_destinations (void)
{
  static const struct
  {
    const char *path;
    gboolean ok;
  } cases[] = {
    { "/tmp/file", TRUE },
    { "/home/user/Downloads/a b.iso", TRUE },
    { "", FALSE },
    { "relative/file", FALSE },
    { "file", FALSE },
    { "/tmp/dir/", FALSE },
    { "/tmp/../etc/passwd", FALSE },
    { "/tmp/./file", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;

      g_test_message ("Destination: %s", cases[i].path);
      g_assert_cmpint (bt_validate_destination_path (cases[i].path, &error), ==, cases[i].ok);
      if (!cases[i].ok)
        g_assert_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT);
    }
}

static void
test_local_addresses (void)
{
  static const struct
  {
    const char *address;
    gboolean local;
  } cases[] = {
    { "127.0.0.1", TRUE },
    { "127.0.0.2", TRUE },
    { "10.1.2.3", TRUE },
    { "172.16.0.1", TRUE },
    { "192.168.1.1", TRUE },
    { "169.254.1.1", TRUE },
    { "0.0.0.0", TRUE },
    { "::1", TRUE },
    { "fe80::1", TRUE },
    { "fd00::1", TRUE },
    { "::", TRUE },
    { "::ffff:127.0.0.1", TRUE },
    { "::ffff:10.0.0.1", TRUE },
    { "8.8.8.8", FALSE },
    { "172.32.0.1", FALSE },
    { "2001:db8::1", FALSE },
    { "::ffff:1.2.3.4", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GInetAddress) address = g_inet_address_new_from_string (cases[i].address);

      g_assert_nonnull (address);
      if (bt_address_is_local (address) != cases[i].local)
        g_error ("%s should %sbe local", cases[i].address, cases[i].local ? "" : "not ");
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/validate/uris", test_uris);
  g_test_add_func ("/validate/uri-length", test_uri_length);
  g_test_add_func ("/validate/uri-scheme", test_uri_scheme);
  g_test_add_func ("/validate/headers", test_headers);
  g_test_add_func ("/validate/header-too-long", test_header_too_long);
  g_test_add_func ("/validate/secret-headers", test_secret_headers);
  g_test_add_func ("/validate/destinations", test_destinations);

  g_test_add_func ("/validate/local-addresses", test_local_addresses);

  return g_test_run ();
}
