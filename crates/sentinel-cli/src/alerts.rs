//! `sentinel alerts verify` and `sentinel alerts test`, configured like the service itself
//! from `TELEMON_*`.

use std::time::Duration;

use telemon_alerts::{Alert, Config, Telemon};

use crate::args::AlertsCommand;
use crate::failure::Failure;

/// How long `alerts test` waits for the test message to be delivered.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(15);

pub(crate) async fn run(command: &AlertsCommand) -> Result<String, Failure> {
    let config = Config::from_env().map_err(|e| Failure::Usage(e.to_string()))?;
    let telemon = Telemon::builder()
        .config(&config)
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    if !telemon.is_enabled() {
        return Err(Failure::Usage(
            "alerts are disabled (TELEMON_ENABLED=false): nothing to verify".to_owned(),
        ));
    }
    let verified = telemon
        .verify()
        .await
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let Some(bot) = verified.bot_username else {
        return Err(Failure::Usage(
            "alerts do not go through Telegram: set TELEMON_BOT_TOKEN".to_owned(),
        ));
    };
    let destinations: Vec<String> = verified
        .destinations
        .iter()
        .map(|d| match d.thread_id {
            Some(t) => format!("chat {} thread {t}", d.chat_id),
            None => format!("chat {}", d.chat_id),
        })
        .collect();
    let verified = format!("ok: bot @{bot} can post to {}", destinations.join(", "));
    match command {
        AlertsCommand::Verify => Ok(verified),
        AlertsCommand::Test { title } => {
            telemon.report(
                Alert::critical(title.clone())
                    .message("Sent by `sentinel alerts test`: Critical alerts reach this chat."),
            );
            telemon.shutdown(DELIVERY_DEADLINE).await;
            if telemon.metrics().sent_alerts == 0 {
                return Err(Failure::Failed(format!(
                    "{verified}, but the test alert was not delivered within {}s",
                    DELIVERY_DEADLINE.as_secs()
                )));
            }
            Ok(format!("{verified}\nok: test alert sent"))
        }
    }
}
