/* bgt-call-queue.h: every call of the library to the service, with a bound
 * on the calls awaiting their reply
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

G_BEGIN_DECLS

/* dbus-daemon's built-in limit is 128 pending replies per connection
 * (max_replies_per_connection); an application's calls stay well under
 * it, whatever it asks for at once */
#define BGT_CALL_QUEUE_MAX_IN_FLIGHT 64

void _bgt_call (GDBusConnection *connection, const char *object_path, const char *interface_name,
                const char *method_name, GVariant *parameters, const GVariantType *reply_type,
                GUnixFDList *fd_list, GCancellable *cancellable, GAsyncReadyCallback callback,
                gpointer user_data);
GVariant *_bgt_call_finish (GAsyncResult *result, GUnixFDList **out_fd_list, GError **error);

G_END_DECLS
