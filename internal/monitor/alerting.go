package monitor

import (
	"slices"
	"strconv"
)

// Alerting defaults and limits.
const (
	DefaultConfirmations         = 2 // one retry before alerting
	DefaultRecoveryConfirmations = 1
	MaxConfirmations             = 100
	MaxReminderMinutes           = 7 * 24 * 60
	MaxCertAlertDays             = 365
	MaxCertAlertThresholds       = 10
	MaxChannels                  = 50
)

// DefaultCertAlertDays are the days before a certificate's expiry at which
// a monitor warns, once each.
var DefaultCertAlertDays = []int{14, 7, 3, 1}

func (m *Monitor) validateAlerting(v *ValidationError) {
	if m.Confirmations < 1 || m.Confirmations > MaxConfirmations {
		v.Add("confirmations", "must be between 1 and %d", MaxConfirmations)
	}
	if m.RecoveryConfirmations < 1 || m.RecoveryConfirmations > MaxConfirmations {
		v.Add("recovery_confirmations", "must be between 1 and %d", MaxConfirmations)
	}
	if m.ReminderMinutes < 0 || m.ReminderMinutes > MaxReminderMinutes {
		v.Add("reminder_minutes", "must be between 0 (no reminders) and %d", MaxReminderMinutes)
	}
	if len(m.CertAlertDays) > MaxCertAlertThresholds {
		v.Add("cert_alert_days", "must list at most %d thresholds", MaxCertAlertThresholds)
	}
	for i, d := range m.CertAlertDays {
		if d < 1 || d > MaxCertAlertDays {
			v.Add("cert_alert_days["+strconv.Itoa(i)+"]", "must be between 1 and %d", MaxCertAlertDays)
		}
	}
	if len(m.Channels) > MaxChannels {
		v.Add("channels", "must list at most %d channels", MaxChannels)
	}
}

// NormalizeAlerting sorts and de-duplicates the lists of alerting fields:
// thresholds from the farthest, channels by id.
func (m *Monitor) NormalizeAlerting() {
	// Copies first: the lists may share their arrays with a Patch, which
	// sorting and compacting in place would change.
	m.CertAlertDays, m.Channels = slices.Clone(m.CertAlertDays), slices.Clone(m.Channels)
	slices.Sort(m.CertAlertDays)
	m.CertAlertDays = slices.Compact(m.CertAlertDays)
	slices.Reverse(m.CertAlertDays)
	slices.Sort(m.Channels)
	m.Channels = slices.Compact(m.Channels)
}
