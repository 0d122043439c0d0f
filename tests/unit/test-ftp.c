/* Unit tests of FTP reply parsing (FAULTS S12)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-ftp-reply.h"

static void
test_epsv (void)
{
  guint16 port = 0;

  g_assert_true (bt_ftp_parse_epsv ("229 Entering Extended Passive Mode (|||6446|)", &port));
  g_assert_cmpuint (port, ==, 6446);
  g_assert_true (bt_ftp_parse_epsv ("229 ok (!!!21!)", &port));
  g_assert_cmpuint (port, ==, 21);
  g_assert_false (bt_ftp_parse_epsv ("229 Entering Extended Passive Mode", &port));
  g_assert_false (bt_ftp_parse_epsv ("229 (|||0|)", &port));
  g_assert_false (bt_ftp_parse_epsv ("229 (|||70000|)", &port));
  g_assert_false (bt_ftp_parse_epsv ("229 (||6446|)", &port));
  g_assert_false (bt_ftp_parse_epsv ("229 (|||abc|)", &port));
}

static void
test_pasv (void)
{
  guint16 port = 0;

  g_assert_true (bt_ftp_parse_pasv ("227 Entering Passive Mode (127,0,0,1,117,48).", &port));
  g_assert_cmpuint (port, ==, 117 * 256 + 48);
  /* the address is ignored: a server pointing elsewhere gains nothing */
  g_assert_true (bt_ftp_parse_pasv ("227 Entering Passive Mode (10,1,2,3,4,1)", &port));
  g_assert_cmpuint (port, ==, 4 * 256 + 1);
  g_assert_true (bt_ftp_parse_pasv ("227 =127,0,0,1,0,21", &port));
  g_assert_cmpuint (port, ==, 21);
  g_assert_false (bt_ftp_parse_pasv ("227 Entering Passive Mode (127,0,0,1,300,1)", &port));
  g_assert_false (bt_ftp_parse_pasv ("227 Entering Passive Mode (127,0,0,1)", &port));
  g_assert_false (bt_ftp_parse_pasv ("227 Entering Passive Mode", &port));
  g_assert_false (bt_ftp_parse_pasv ("227 (1,2,3,4,0,0)", &port));
}

static BtFtpReplyState
feed (BtFtpReply *reply, const char *const *lines)
{
  BtFtpReplyState state = BT_FTP_REPLY_MORE;

  for (guint i = 0; lines[i] != NULL && state == BT_FTP_REPLY_MORE; i++)
    state = bt_ftp_reply_add_line (reply, lines[i]);
  return state;
}

static void
test_reply (void)
{
  BtFtpReply reply = { 0 };
  const char *const single[] = { "220 Welcome\r", NULL };
  const char *const multi[] = { "211-Features:", " SIZE", "211x no", "2110 no", "211 End", NULL };
  const char *const empty_last[] = { "230-Hello", "230 ", NULL };
  const char *const bad[] = { "hello", NULL };
  const char *const short_line[] = { "22", NULL };
  const char *const unfinished[] = { "150-a", "b", NULL };
  g_autoptr (GPtrArray) endless = g_ptr_array_new_with_free_func (g_free);

  g_assert_cmpint (feed (&reply, single), ==, BT_FTP_REPLY_DONE);
  g_assert_cmpuint (bt_ftp_reply_get_code (&reply), ==, 220);
  g_assert_cmpstr (reply.first, ==, "220 Welcome");
  bt_ftp_reply_clear (&reply);

  g_assert_cmpint (feed (&reply, multi), ==, BT_FTP_REPLY_DONE);
  g_assert_cmpuint (bt_ftp_reply_get_code (&reply), ==, 211);
  g_assert_cmpstr (reply.first, ==, "211-Features:");
  g_assert_cmpuint (reply.n_lines, ==, 5);
  bt_ftp_reply_clear (&reply);

  /* "230 " with its space trimmed still ends the reply */
  g_assert_cmpint (feed (&reply, empty_last), ==, BT_FTP_REPLY_DONE);
  bt_ftp_reply_clear (&reply);

  g_assert_cmpint (feed (&reply, bad), ==, BT_FTP_REPLY_INVALID);
  g_assert_cmpuint (bt_ftp_reply_get_code (&reply), ==, 0);
  bt_ftp_reply_clear (&reply);
  g_assert_cmpint (feed (&reply, short_line), ==, BT_FTP_REPLY_INVALID);
  bt_ftp_reply_clear (&reply);
  g_assert_cmpint (feed (&reply, unfinished), ==, BT_FTP_REPLY_MORE);
  bt_ftp_reply_clear (&reply);

  g_ptr_array_add (endless, g_strdup ("250-start"));
  for (guint i = 0; i < BT_FTP_MAX_REPLY_LINES + 5; i++)
    g_ptr_array_add (endless, g_strdup ("more"));
  g_ptr_array_add (endless, NULL);
  g_assert_cmpint (feed (&reply, (const char *const *) endless->pdata), ==, BT_FTP_REPLY_TOO_LONG);
  g_assert_cmpuint (reply.n_lines, ==, BT_FTP_MAX_REPLY_LINES);
  bt_ftp_reply_clear (&reply);
}

static void
test_size (void)
{
  guint64 size = 7;

  g_assert_true (bt_ftp_parse_size ("213 12345", &size));
  g_assert_cmpuint (size, ==, 12345);
  g_assert_true (bt_ftp_parse_size ("213 0  ", &size));
  g_assert_cmpuint (size, ==, 0);
  g_assert_true (bt_ftp_parse_size ("213 18446744073709551614", &size));
  g_assert_cmpuint (size, ==, G_MAXUINT64 - 1);
  size = 7;
  /* "213" alone was read one byte past its end before (fuzz-ftp-reply) */
  g_assert_false (bt_ftp_parse_size ("213", &size));
  g_assert_false (bt_ftp_parse_size ("213 ", &size));
  g_assert_false (bt_ftp_parse_size ("213 abc", &size));
  g_assert_false (bt_ftp_parse_size ("213 -1", &size));
  g_assert_false (bt_ftp_parse_size ("213 +1", &size));
  g_assert_false (bt_ftp_parse_size ("213 12 34", &size));
  g_assert_false (bt_ftp_parse_size ("213 18446744073709551615", &size));
  g_assert_false (bt_ftp_parse_size ("213 99999999999999999999", &size));
  g_assert_false (bt_ftp_parse_size ("550 12", &size));
  g_assert_cmpuint (size, ==, 7);
}

static void
test_mdtm (void)
{
  g_autofree char *plain = bt_ftp_parse_mdtm ("213 20240131235959");
  g_autofree char *fraction = bt_ftp_parse_mdtm ("213 20240131235959.123 ");

  g_assert_cmpstr (plain, ==, "20240131235959");
  g_assert_cmpstr (fraction, ==, "20240131235959.123");
  g_assert_null (bt_ftp_parse_mdtm ("213"));
  g_assert_null (bt_ftp_parse_mdtm ("213 "));
  g_assert_null (bt_ftp_parse_mdtm ("213 2024"));
  g_assert_null (bt_ftp_parse_mdtm ("213 202401312359590"));
  g_assert_null (bt_ftp_parse_mdtm ("213 20240131235959."));
  g_assert_null (bt_ftp_parse_mdtm ("213 20240131235959 and more"));
  g_assert_null (bt_ftp_parse_mdtm ("550 20240131235959"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ftp/epsv", test_epsv);
  g_test_add_func ("/ftp/pasv", test_pasv);
  g_test_add_func ("/ftp/reply", test_reply);
  g_test_add_func ("/ftp/size", test_size);
  g_test_add_func ("/ftp/mdtm", test_mdtm);

  return g_test_run ();
}
