/* bt-http-session.h: the service's HTTP sessions
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

SoupSession *bt_soup_session_new (GSettings *settings);

G_END_DECLS
