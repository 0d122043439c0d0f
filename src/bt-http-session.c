/* bt-http-session.c: the service's HTTP sessions
 *
 * One session serves every transfer without credentials; a transfer with
 * credentials gets one of its own, since libsoup caches them per session
 * and host (bt-attempt.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-settings.h"
#include "bt-http-session.h"
#include "bt-tls.h"

SoupSession *
bt_soup_session_new (GSettings *settings)
{
  SoupSession *session
      = g_object_new (SOUP_TYPE_SESSION, "max-conns", 256, "max-conns-per-host",
                      bt_settings_get_uint (settings, "max-connections-per-host"), "timeout",
                      bt_settings_get_uint (settings, "response-timeout"), "idle-timeout", 60,
                      "user-agent", "bgtransfer/" PACKAGE_VERSION " ", NULL);

  if (bt_tls_get_database () != NULL)
    g_object_set (session, "tls-database", bt_tls_get_database (), NULL);
  /* Bytes on disk are the bytes on the wire: no transparent decoding */
  soup_session_remove_feature_by_type (session, SOUP_TYPE_CONTENT_DECODER);
  return session;
}
