/* bt-descriptions.h: what each ErrorStatus means, in words for the user
 *
 * The one table of the texts, marked for translation, that the library
 * (bgt_error_status_get_description()) and the service (its failure
 * notifications) both show. Linked, hidden, into both.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Untranslated: pass it through g_dgettext (GETTEXT_PACKAGE, …). Indexed
 * like bt_error_status_names[]; NULL out of range. */
const char *bt_error_status_description (int error_status);

G_END_DECLS
