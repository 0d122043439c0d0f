/* bt-validate.c: checks of what callers hand the service
 *
 * Pure functions: every input is refused here, with a message a user can
 * act on, before anything touches the disk, the network or libsoup (which
 * would drop a bad header with a critical warning).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-error.h"
#include "bt-validate.h"

static const struct
{
  const char *name;
  BtScheme scheme;
} schemes[] = {
  { "http", BT_SCHEME_HTTP },
  { "https", BT_SCHEME_HTTPS },
  { "ftp", BT_SCHEME_FTP },
  { "ftps", BT_SCHEME_FTPS },
};

GUri *
bt_validate_uri (const char *uri, BtScheme *out_scheme, GError **error)
{
  g_autoptr (GUri) parsed = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *scheme;
  const char *host;

  if (uri == NULL || *uri == '\0')
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "The URI is empty");
      return NULL;
    }
  if (strlen (uri) > BT_MAX_URI_LENGTH)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                   "The URI is longer than %d characters", BT_MAX_URI_LENGTH);
      return NULL;
    }
  for (const char *p = uri; *p != '\0'; p++)
    {
      /* Spaces and controls must be percent-encoded; a raw one is a mistake
       * (or an attempt to smuggle something into the request line). */
      if ((guchar) *p <= 0x20 || *p == 0x7f)
        {
          g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                               "The URI contains a space or a control character");
          return NULL;
        }
    }

  parsed = g_uri_parse (uri, G_URI_FLAGS_ENCODED | G_URI_FLAGS_HAS_PASSWORD, &local_error);
  if (parsed == NULL)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Invalid URI: %s",
                   local_error->message);
      return NULL;
    }

  scheme = g_uri_get_scheme (parsed);
  for (gsize i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      if (g_ascii_strcasecmp (scheme, schemes[i].name) == 0)
        {
          if (out_scheme != NULL)
            *out_scheme = schemes[i].scheme;
          scheme = NULL;
          break;
        }
    }
  if (scheme != NULL)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_UNSUPPORTED_SCHEME,
                   "Unsupported URI scheme “%s”: only http, https, ftp and ftps are supported",
                   scheme);
      return NULL;
    }

  host = g_uri_get_host (parsed);
  if (host == NULL || *host == '\0')
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "The URI has no host");
      return NULL;
    }
  /* GLib decodes a host's percent-encoding: "%0D%0A" would reach the Host
   * header (or an FTP server's name) as a raw line break */
  for (const char *p = host; *p != '\0'; p++)
    {
      if ((guchar) *p <= 0x20 || *p == 0x7f)
        {
          g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                               "The URI's host contains a space or a control character");
          return NULL;
        }
    }

  if (g_uri_get_userinfo (parsed) != NULL)
    {
      /* Never echo the userinfo back: it may hold a password. */
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "Credentials in the URI are not accepted; pass them with the "
                           "server-credential option");
      return NULL;
    }

  if (g_uri_get_fragment (parsed) != NULL)
    {
      /* A fragment is never sent to the server; drop it. */
      GUri *stripped = g_uri_build (g_uri_get_flags (parsed), g_uri_get_scheme (parsed), NULL, host,
                                    g_uri_get_port (parsed), g_uri_get_path (parsed),
                                    g_uri_get_query (parsed), NULL);
      g_uri_unref (parsed);
      parsed = stripped;
    }

  return g_steal_pointer (&parsed);
}

static gboolean
is_tchar (char c)
{
  /* RFC 9110 §5.6.2 */
  return g_ascii_isalnum (c) || strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Headers the service itself is in charge of: framing, connection
 * management, and the ones that make resume correct. */
static const char *const reserved_headers[] = {
  "Host",    "Content-Length", "Transfer-Encoding", "Connection", "Upgrade",  "TE",
  "Trailer", "Keep-Alive",     "Proxy-Connection",  "Range",      "If-Range", "Accept-Encoding",
  "Expect",
};

gboolean
bt_validate_header (const char *name, const char *value, GError **error)
{
  if (name == NULL || *name == '\0')
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Empty header name");
      return FALSE;
    }
  for (const char *p = name; *p != '\0'; p++)
    {
      if (!is_tchar (*p))
        {
          g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                               "Invalid header name: only token characters are allowed");
          return FALSE;
        }
    }
  if (strlen (name) > 256)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Header name too long");
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (reserved_headers); i++)
    {
      if (g_ascii_strcasecmp (name, reserved_headers[i]) == 0)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "The header “%s” is managed by the service and cannot be set",
                       reserved_headers[i]);
          return FALSE;
        }
    }

  if (value == NULL)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "No value for header “%s”", name);
      return FALSE;
    }
  if (strlen (value) > BT_MAX_HEADER_VALUE_LENGTH)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                   "The value of header “%s” is longer than %d bytes", name,
                   BT_MAX_HEADER_VALUE_LENGTH);
      return FALSE;
    }
  for (const char *p = value; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      /* No CR, LF or other controls (HTAB is allowed) */
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "The value of header “%s” contains a control character", name);
          return FALSE;
        }
    }

  return TRUE;
}

gboolean
bt_header_is_secret (const char *name)
{
  return g_ascii_strcasecmp (name, "Authorization") == 0
         || g_ascii_strcasecmp (name, "Proxy-Authorization") == 0
         || g_ascii_strcasecmp (name, "Cookie") == 0;
}

gboolean
bt_validate_destination_path (const char *path, GError **error)
{
  g_autofree char *base = NULL;
  g_auto (GStrv) elements = NULL;

  if (path == NULL || *path == '\0')
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "The destination is empty");
      return FALSE;
    }
  if (!g_path_is_absolute (path))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                   "The destination “%s” is not an absolute path", path);
      return FALSE;
    }
  if (g_str_has_suffix (path, "/"))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                   "The destination “%s” names a directory, not a file", path);
      return FALSE;
    }
  if (strlen (path) >= 4096 - sizeof (".bgtpart"))
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "The destination path is too long");
      return FALSE;
    }

  elements = g_strsplit (path, "/", -1);
  for (guint i = 0; elements[i] != NULL; i++)
    {
      if (g_str_equal (elements[i], ".") || g_str_equal (elements[i], ".."))
        {
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "The destination “%s” must not contain “.” or “..”", path);
          return FALSE;
        }
    }

  base = g_path_get_basename (path);
  if (strlen (base) > 255 - strlen (".bgtpart"))
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                           "The destination file name is too long");
      return FALSE;
    }

  return TRUE;
}

/*
 * bt_address_is_local:
 *
 * Loopback, link-local, private (RFC 1918, RFC 4193) or unspecified: an
 * address of this machine or its local network rather than the Internet.
 */
gboolean
bt_address_is_local (GInetAddress *address)
{
  const guint8 *bytes = g_inet_address_to_bytes (address);

  if (g_inet_address_get_is_loopback (address) || g_inet_address_get_is_link_local (address)
      || g_inet_address_get_is_site_local (address) || g_inet_address_get_is_any (address))
    return TRUE;
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    {
      /* fc00::/7, and IPv4 addresses mapped into IPv6 */
      static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

      if ((bytes[0] & 0xfe) == 0xfc)
        return TRUE;
      if (memcmp (bytes, mapped, sizeof mapped) == 0)
        {
          g_autoptr (GInetAddress) v4
              = g_inet_address_new_from_bytes (bytes + 12, G_SOCKET_FAMILY_IPV4);
          return bt_address_is_local (v4);
        }
    }
  return FALSE;
}
