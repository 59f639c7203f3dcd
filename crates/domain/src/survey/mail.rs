//! The survey invitation and reminder mails (issue #20 item 15), rendered in the recipient's
//! language at enqueue; the link is the respondent's single-use survey page.

use crate::locale::Locale;
use crate::notify::{Rendered, html_escape};

pub struct Invitation<'a> {
    pub org: &'a str,
    /// The questionnaire's name.
    pub survey: &'a str,
    /// The respondent's link (`{public_url}/s/{token}`).
    pub url: &'a str,
    /// A reminder to someone who has not answered yet.
    pub reminder: bool,
}

fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned()
}

pub fn invitation(l: Locale, i: &Invitation<'_>) -> Rendered {
    let (org, survey) = (one_line(i.org), one_line(i.survey));
    let (subject, lead, ask, open) = match (l, i.reminder) {
        (Locale::ZhCn, false) => (
            format!("{org}：{survey}"),
            format!("尊敬的客户：感谢您对{org}的支持！为了进一步了解您的意见，请您填写《{survey}》。"),
            "您的任何意见和建议都是我们的宝贵财富。",
            "填写调查表",
        ),
        (Locale::ZhCn, true) => (
            format!("提醒：{org}：{survey}"),
            format!("尊敬的客户：我们尚未收到您的《{survey}》，恳请您抽空填写。"),
            "此链接只能提交一次；之前邮件中的链接仍然有效。",
            "填写调查表",
        ),
        (Locale::En, false) => (
            format!("{org}: {survey}"),
            format!(
                "Dear customer, thank you for your support of {org}. Please tell us what you think in the {survey}."
            ),
            "Every opinion and suggestion helps us improve.",
            "Answer the questionnaire",
        ),
        (Locale::En, true) => (
            format!("Reminder: {org}: {survey}"),
            format!(
                "Dear customer, we have not yet received your answers to the {survey}; please take a moment to answer."
            ),
            "The link can be used once; the link of our earlier mail still works.",
            "Answer the questionnaire",
        ),
    };
    let e = html_escape;
    Rendered {
        text: format!("{lead}\n\n{ask}\n\n{open}: {}\n", i.url),
        html: format!(
            "<!DOCTYPE html>\n<html><body>\n<p>{}</p>\n<p>{}</p>\n<p><a href=\"{}\">{}</a></p>\n</body></html>\n",
            e(&lead),
            e(ask),
            e(i.url),
            e(open)
        ),
        subject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_and_reminder_carry_the_link_in_either_language_with_user_text_escaped() {
        let i =
            Invitation {
                org: "华星<b>", survey: "顾客满意程度调查表", url: "https://x.test/s/abc", reminder: false
            };
        let zh = invitation(Locale::ZhCn, &i);
        assert!(zh.subject.contains("顾客满意程度调查表") && zh.text.contains("https://x.test/s/abc"));
        assert!(zh.html.contains("华星&lt;b&gt;") && !zh.html.contains("<b>"));
        let en = invitation(Locale::En, &Invitation { reminder: true, ..i });
        assert!(en.subject.starts_with("Reminder:") && en.text.contains("https://x.test/s/abc"));
    }
}
