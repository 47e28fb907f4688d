"""Demo knowledge base: a fictional telecom operator's FAQ (华信通信 10088), written for kefu.

Every text here is original demo content (no real operator's FAQ is copied). The tests use it
as their fixture too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.clock import Clock
from kefu.knowledge.tables import (
    Announcement,
    Article,
    ArticleVersion,
    KnowledgeModule,
    KnowledgeSettings,
)

__all__ = ["DEMO_ANNOUNCEMENTS", "DEMO_ARTICLES", "DEMO_SYNONYMS", "DEMO_WORDS", "seed_knowledge"]


@dataclass(frozen=True)
class DemoArticle:
    module: str
    title: str
    questions: tuple[str, ...]
    body: str
    tags: tuple[str, ...] = ()
    days_valid: int | None = None  # a campaign article: valid for this many days from seeding


DEMO_WORDS = (
    "流量包",
    "加油包",
    "定向流量",
    "携号转网",
    "停机保号",
    "副卡",
    "主卡",
    "亲情号",
    "宽带报修",
    "光猫",
    "彩铃",
    "国际漫游",
    "话费余额",
    "月租",
    "实名制",
    "补换卡",
    "5G套餐",
    "积分兑换",
    "电子发票",
    "销户",
)
DEMO_SYNONYMS = (
    ("流量包", "加油包", "叠加包"),
    ("宽带", "光纤", "网线"),
    ("话费", "电话费", "通信费"),
    ("退订", "取消", "关闭"),
    ("携号转网", "转网", "换运营商"),
    ("光猫", "路由器", "猫"),
)

DEMO_ARTICLES: tuple[DemoArticle, ...] = (
    # 资费套餐 > 流量包
    DemoArticle(
        "资费套餐 > 流量包",
        "如何办理流量包？",
        ("流量不够用怎么办", "想加点流量", "怎么买流量包", "流量用完了怎么充"),
        "您可以通过以下方式办理流量包：1. 登录华信通信App，进入“办理-流量包”选择合适的包；"
        "2. 编辑短信“LLB”发送到10088，按回复提示选择；3. 拨打10088按3号键转人工办理。"
        "日包当天有效，月包当月有效，次月不自动续订。",
        ("流量包", "办理"),
    ),
    DemoArticle(
        "资费套餐 > 流量包",
        "流量包怎么退订？",
        ("不想要流量包了", "取消流量包", "流量包能不能关掉", "怎么关闭自动续订的流量包"),
        "当月已生效的流量包不能退费，可以退订次月的自动续订：在App“我的-已订业务”中点击退订，"
        "或发送短信“TDLLB”到10088。退订次月生效，本月剩余流量可继续使用至月底。",
        ("流量包", "退订"),
    ),
    DemoArticle(
        "资费套餐 > 流量包",
        "流量包的流量可以结转到下个月吗？",
        ("流量月底没用完怎么办", "剩余流量能不能留到下月", "流量清零吗"),
        "月包中未用完的通用流量可以结转到次月，结转的流量次月优先使用、月底清零，不再继续结转。"
        "日包、定向流量包和赠送流量不能结转。",
        ("流量包", "结转"),
    ),
    DemoArticle(
        "资费套餐 > 流量包",
        "定向流量包包含哪些应用？",
        ("视频会员流量包能看哪些", "定向流量是什么意思", "刷短视频用哪个流量包"),
        "定向流量包只在指定应用内使用，包含的应用以App“流量包详情”页为准。在应用内看广告、"
        "打开外部链接或使用投屏时会消耗通用流量。开热点分享给其他设备也不计入定向流量。",
        ("流量包", "定向流量"),
    ),
    DemoArticle(
        "资费套餐 > 流量包",
        "流量提醒短信怎么设置？",
        ("流量快用完了没提醒", "怎么设置流量提醒", "关闭流量提醒短信"),
        "流量使用到套餐的80%和100%时会发送提醒短信。编辑短信“LLTX”发送到10088可以开启或关闭提醒，"
        "也可以在App“设置-消息提醒”中调整提醒比例。",
        ("流量", "提醒"),
    ),
    # 资费套餐 > 套餐变更
    DemoArticle(
        "资费套餐 > 套餐变更",
        "怎么更换套餐？",
        ("换个便宜点的套餐", "套餐太贵了想改", "改套餐什么时候生效", "降套餐可以吗"),
        "您可以在App“办理-套餐变更”中选择新套餐，也可以携带身份证到营业厅办理。套餐变更次月1日生效，"
        "当月仍按原套餐计费。如原套餐有合约期（如购机合约、宽带融合优惠），合约期内不能降档。",
        ("套餐", "变更"),
    ),
    DemoArticle(
        "资费套餐 > 套餐变更",
        "合约期内能不能取消合约套餐？",
        ("合约机套餐能改吗", "合约没到期想销户", "提前解约要交违约金吗"),
        "合约期内套餐只能升档，不能降档或取消。确需提前解除合约的，需到办理合约的营业厅申请，"
        "按合约条款返还已享受的优惠（如购机补贴、赠送话费）。具体金额请以合约为准。",
        ("合约", "违约金"),
    ),
    DemoArticle(
        "资费套餐 > 5G套餐",
        "4G手机能办5G套餐吗？",
        ("没有5G手机可以用5G套餐吗", "5G套餐需要换卡吗", "办了5G套餐网速没变快"),
        "4G手机可以办理5G套餐，享受套餐内的流量和通话，但只能使用4G网络。使用5G网络需要同时满足："
        "5G手机、开通5G功能的SIM卡（2016年以前的老卡需免费换卡）以及所在位置有5G信号覆盖。",
        ("5G套餐",),
    ),
    DemoArticle(
        "资费套餐 > 5G套餐",
        "5G套餐的月租是多少？",
        ("5G最便宜的套餐多少钱", "5G套餐资费", "有没有学生5G套餐"),
        "5G套餐月租从59元起，包含30GB通用流量和300分钟国内通话；129元档包含80GB流量和800分钟通话。"
        "学生凭学生证可享受校园套餐优惠，详细资费以App“套餐”页面为准。",
        ("5G套餐", "月租"),
    ),
    # 资费套餐 > 国际漫游
    DemoArticle(
        "资费套餐 > 国际漫游",
        "出国前要开通国际漫游吗？",
        ("去国外手机能用吗", "出国怎么打电话", "国际漫游怎么开通"),
        "实名制用户的国际及港澳台漫游功能默认已开通，出境后开机即可使用。出发前建议在App办理"
        "“出境流量包”，未办理流量包时按目的地标准资费计费。如漫游被关闭，发送“KTMY”到10088开通。",
        ("国际漫游",),
    ),
    DemoArticle(
        "资费套餐 > 国际漫游",
        "在国外接电话收费吗？",
        ("漫游接听要钱吗", "出国接电话怎么收费", "国外收短信收费吗"),
        "在境外接听电话按目的地漫游资费收费，接收短信免费，发送短信按条收费。"
        "为避免高额费用，可在手机设置中关闭“数据漫游”，仅在连接无线网络时上网。",
        ("国际漫游", "资费"),
    ),
    # 话费账单 > 话费查询
    DemoArticle(
        "话费账单 > 话费查询",
        "怎么查询话费余额？",
        ("我还有多少钱", "查一下余额", "话费还剩多少", "怎么看欠费了没有"),
        "查询话费余额：1. 编辑短信“CXYE”发送到10088；2. 拨打10088按1号键；3. 打开App首页查看。"
        "余额包含预存话费和赠送话费，赠送话费有使用期限，请在有效期内使用。",
        ("话费余额", "查询"),
    ),
    DemoArticle(
        "话费账单 > 话费查询",
        "为什么这个月话费比平时多？",
        ("话费突然变多了", "扣费异常", "话费怎么这么高", "乱扣费"),
        "请先在App“账单-月账单”中查看费用明细，常见原因有：套餐外流量费、订购了增值业务、国际漫游费用、"
        "上月套餐变更。如发现不认可的扣费，请提供号码和扣费月份，座席可为您核查并按规定处理。",
        ("话费", "扣费异议"),
    ),
    DemoArticle(
        "话费账单 > 话费查询",
        "怎么查通话详单？",
        ("查一下通话记录", "打印详单", "上网详单怎么查"),
        "可在App“账单-详单查询”中查看近6个月的通话、短信和上网详单，需短信验证码验证本人身份。"
        "更早的详单请本人携带身份证到营业厅打印。",
        ("详单",),
    ),
    # 话费账单 > 缴费充值
    DemoArticle(
        "话费账单 > 缴费充值",
        "话费充值没到账怎么办？",
        ("充了话费没到账", "交了钱余额没变", "充值失败钱扣了"),
        "充值一般在10分钟内到账，高峰期可能延迟至2小时。请先核对充值号码是否正确；"
        "超过2小时仍未到账，请提供充值渠道、时间和金额，座席将发起查询，确认未到账的款项会原路退回。",
        ("充值", "到账"),
    ),
    DemoArticle(
        "话费账单 > 缴费充值",
        "欠费停机后怎么恢复？",
        ("手机停机了", "欠费了打不了电话", "交完费多久开机"),
        "缴清欠费后系统会在30分钟内自动恢复通信服务。如缴费后超过30分钟仍无法使用，"
        "请重启手机；仍未恢复的，座席可为您手工复机。",
        ("停机", "复机"),
    ),
    DemoArticle(
        "话费账单 > 缴费充值",
        "可以设置自动充值吗？",
        ("余额不足自动充话费", "怎么开通自动缴费", "绑定银行卡交话费"),
        "在App“充值-自动充值”中绑定银行卡或支付账户，设置余额低于某个金额时自动充值固定金额。"
        "可随时在同一页面关闭自动充值。",
        ("充值",),
    ),
    # 话费账单 > 发票
    DemoArticle(
        "话费账单 > 发票",
        "怎么开话费电子发票？",
        ("话费发票怎么开", "报销需要发票", "发票抬头怎么改"),
        "登录App“账单-电子发票”，选择月份和抬头即可开具月结电子发票，可发送到邮箱。"
        "单位报销需填写单位名称和税号；已开具的发票如需更换抬头，请先冲红后重开。",
        ("电子发票",),
    ),
    # 宽带业务 > 宽带报修
    DemoArticle(
        "宽带业务 > 宽带报修",
        "宽带上不了网怎么办？",
        ("家里网断了", "宽带没网", "光猫红灯闪", "wifi连上了但是上不了网"),
        "请先按以下步骤自查：1. 查看光猫指示灯，LOS灯红色闪烁表示光纤信号中断；"
        "2. 将光猫和路由器断电1分钟后重启；3. 用网线直连光猫测试。"
        "仍无法上网请报修，装维人员将在24小时内上门处理。",
        ("宽带报修", "光猫"),
    ),
    DemoArticle(
        "宽带业务 > 宽带报修",
        "宽带网速很慢怎么办？",
        ("网速慢", "宽带卡顿", "晚上网特别卡", "测速达不到签约速率"),
        "请用网线连接电脑测速（无线受距离和墙体影响较大）。如有线测速明显低于签约速率，"
        "可报修检测线路；如仅无线慢，建议把路由器放在房屋中央或升级为双频路由器。",
        ("宽带", "网速"),
    ),
    DemoArticle(
        "宽带业务 > 宽带报修",
        "宽带报修后多久上门？",
        ("报修了没人来", "装维师傅什么时候到", "催一下宽带维修"),
        "城区报修承诺24小时内上门，乡镇48小时内上门。如超时未处理，座席可为您催单，"
        "工单将升级至区域维护主管跟进。",
        ("宽带报修", "时限"),
    ),
    # 宽带业务 > 宽带办理
    DemoArticle(
        "宽带业务 > 宽带办理",
        "怎么办理宽带？",
        ("家里想装宽带", "新装宽带要多久", "宽带安装费多少"),
        "可在App“宽带-新装”中输入地址查询覆盖并预约，也可到营业厅办理。预约后装维人员会在"
        "3个工作日内联系上门安装。融合套餐用户免安装费，单宽带用户安装调测费100元。",
        ("宽带", "新装"),
    ),
    DemoArticle(
        "宽带业务 > 宽带办理",
        "搬家了宽带怎么移机？",
        ("宽带移机", "换房子了宽带怎么办", "宽带能不能迁到新家"),
        "请在App“宽带-移机”中填写新地址，系统确认新地址有覆盖后预约上门时间。"
        "同城移机每年可免费一次，之后每次收取移机费50元。新地址无覆盖的，可申请免违约金拆机。",
        ("宽带", "移机"),
    ),
    DemoArticle(
        "宽带业务 > 宽带办理",
        "宽带怎么拆机销户？",
        ("不用宽带了", "取消宽带", "宽带退订"),
        "宽带拆机需机主携带身份证和光猫到营业厅办理，结清费用后办理。合约期内拆机需按合约支付违约金。"
        "光猫为租用设备的须归还，否则按设备价格收费。",
        ("宽带", "销户"),
    ),
    # 号码业务 > 携号转网
    DemoArticle(
        "号码业务 > 携号转网",
        "携号转网需要什么条件？",
        ("想换运营商号码不变", "转网要满足哪些条件", "号码能带走吗"),
        "办理携号转网需满足：号码已实名登记、在网满120天、无欠费、无在约合约、号码状态正常且不是"
        "物联网卡。编辑短信“SQXZ#姓名#证件号码”发送到10088可查询是否符合条件并获取授权码。",
        ("携号转网",),
    ),
    DemoArticle(
        "号码业务 > 携号转网",
        "携号转网授权码怎么获取？",
        ("转网授权码", "授权码有效期多久", "授权码没收到"),
        "编辑短信“SQXZ#姓名#证件号码”发送到10088获取授权码，授权码有效期为120小时。"
        "请在有效期内携带身份证到转入运营商营业厅办理。",
        ("携号转网", "授权码"),
    ),
    # 号码业务 > 停机保号
    DemoArticle(
        "号码业务 > 停机保号",
        "停机保号怎么办理？",
        ("出国一段时间号码怎么保留", "暂时不用手机号", "保号套餐"),
        "停机保号期间每月收取保号费5元，号码保留不能使用通话、短信和上网，最长可办理12个月。"
        "可通过App“号码服务-停机保号”或营业厅办理，需确保账户无欠费。",
        ("停机保号",),
    ),
    DemoArticle(
        "号码业务 > 停机保号",
        "停机保号后怎么恢复使用？",
        ("保号结束怎么开机", "取消停机保号", "复机要去营业厅吗"),
        "在App“号码服务-停机保号”中点击“恢复使用”，或拨打10088转人工办理，恢复后当月按日折算月租。",
        ("停机保号", "复机"),
    ),
    # 号码业务 > 补换卡
    DemoArticle(
        "号码业务 > 补换卡",
        "手机卡丢了怎么补卡？",
        ("手机掉了", "SIM卡坏了", "补办电话卡", "手机被偷了怎么办"),
        "请先拨打10088挂失号码，防止被盗用；再由机主携带身份证原件到任一营业厅补卡，补卡免费，"
        "原卡失效。非本人办理需同时提供机主和代办人身份证原件。",
        ("补换卡", "挂失"),
    ),
    DemoArticle(
        "号码业务 > 补换卡",
        "怎么换成5G卡或者小卡？",
        ("换卡要钱吗", "卡太大放不进手机", "换eSIM"),
        "老卡换新卡（含5G卡、Nano小卡）免费，机主携带身份证到营业厅即可办理，号码和套餐不变。"
        "部分手机支持eSIM，需在营业厅办理并扫码开通。",
        ("补换卡",),
    ),
    # 号码业务 > 副卡
    DemoArticle(
        "号码业务 > 副卡",
        "怎么给家人办副卡？",
        ("副卡怎么加", "主副卡共享流量", "一个套餐给家里人用"),
        "主卡套餐支持添加副卡时，可在App“家庭-副卡”中添加，最多4张副卡，副卡共享主卡套餐内的流量和通话，"
        "每张副卡月功能费10元。副卡需单独实名，新号码需到营业厅领取。",
        ("副卡", "家庭"),
    ),
    DemoArticle(
        "号码业务 > 副卡",
        "副卡怎么取消？",
        ("删除副卡", "解除主副卡关系", "副卡不想用了"),
        "主卡机主可在App“家庭-副卡”中解除副卡关系，次月生效；解除后副卡转为独立号码，"
        "需选择新套餐，未选择的按基础套餐计费。",
        ("副卡",),
    ),
    # 增值业务
    DemoArticle(
        "增值业务 > 短信业务",
        "怎么查询和退订增值业务？",
        ("莫名其妙扣了信息费", "退订SP业务", "查一下开了哪些业务", "有个每月扣费的业务不是我开的"),
        "发送“0000”到10088可查询已订购的增值业务，按回复提示回复序号即可退订。"
        "对未经本人确认订购的业务，座席可核实订购记录，确认违规订购的按规定退费。",
        ("增值业务", "退订"),
    ),
    DemoArticle(
        "增值业务 > 彩铃",
        "彩铃怎么设置和取消？",
        ("换个彩铃", "不要彩铃了", "彩铃每月多少钱"),
        "在App“彩铃”专区可以选择和设置彩铃，彩铃功能费每月5元。取消彩铃：发送“QXCL”到10088，次月不再收费。",
        ("彩铃",),
    ),
    DemoArticle(
        "增值业务 > 短信业务",
        "垃圾短信和骚扰电话怎么处理？",
        ("总是收到广告短信", "骚扰电话太多", "怎么拦截陌生号码"),
        "可在App“安全-防骚扰”中免费开通骚扰拦截，或将号码举报至12321。"
        "收到自称客服要求转账的电话请立即挂断，并拨打10088核实。",
        ("防骚扰",),
    ),
    # 积分权益
    DemoArticle(
        "积分权益 > 积分兑换",
        "积分怎么兑换话费？",
        ("积分能换什么", "积分怎么用", "积分兑换流量"),
        "每消费1元累积1积分，积分可在App“我的-积分商城”兑换话费、流量包和实物礼品，"
        "100积分可兑换1元话费。积分有效期为累积次年年底，过期自动清零。",
        ("积分兑换",),
    ),
    DemoArticle(
        "积分权益 > 会员权益",
        "星级会员有什么权益？",
        ("怎么评星级", "五星会员有什么好处", "星级服务"),
        "星级根据在网时长和月均消费每年评定一次。四星及以上会员享受营业厅优先办理、免费补换卡、"
        "每年两次免费停机保号等权益；五星会员另有专属客服经理。",
        ("会员", "星级"),
    ),
    # 实名与账户
    DemoArticle(
        "号码业务 > 实名与过户",
        "手机号怎么过户？",
        ("号码转给家人", "更改机主", "过户需要带什么"),
        "过户需原机主和新机主同时携带本人身份证原件到营业厅办理，号码需无欠费、无在约合约。"
        "过户后原机主的积分和余额按规定处理，套餐可保持不变。",
        ("过户", "实名制"),
    ),
    DemoArticle(
        "号码业务 > 实名与过户",
        "怎么注销手机号？",
        ("销户", "不用这个号了", "注销号码要带什么"),
        "机主携带身份证原件到营业厅办理销户，需结清费用并解除合约和副卡关系。"
        "销户后号码有90天冷冻期，余额可在30天内申请退还。",
        ("销户",),
    ),
    # 活动（有有效期）
    DemoArticle(
        "资费套餐 > 优惠活动",
        "双十二流量半价活动怎么参加？",
        ("流量包打折活动", "双十二优惠", "半价流量包"),
        "活动期间在App“活动”专区办理指定月流量包可享受首月半价，每个号码限参加一次，"
        "次月起恢复原价，可随时退订。活动以App页面公布的时间为准。",
        ("活动", "流量包"),
        days_valid=30,
    ),
)

DEMO_ANNOUNCEMENTS = (
    (
        "urgent",
        "【紧急】武汉洪山区光缆中断，宽带报障统一口径",
        "今日9:30起洪山区部分小区光缆被施工挖断，预计18:00前恢复。客户来电报障请安抚并告知预计恢复时间，"
        "无需逐单派修，统一登记到“洪山光缆中断”批量工单。",
    ),
    (
        "important",
        "【重要】12月起流量包结转规则调整",
        "自12月1日起，月流量包剩余流量结转至次月后月底清零，请按新口径答复客户。详见知识库“流量包的流量可以结转到下个月吗？”。",
    ),
    (
        "normal",
        "本周六营业厅系统升级",
        "本周六0:00-6:00营业厅系统升级，期间无法办理补卡和过户，App业务不受影响。",
    ),
)


def seed_knowledge(session: Session, clock: Clock, tenant_id: int, editor_id: int) -> int:
    """Create the demo module tree, articles (published), dictionary and announcements."""
    if session.scalar(select(Article.id).where(Article.tenant_id == tenant_id).limit(1)):
        return 0
    now = clock.now()
    modules: dict[str, KnowledgeModule] = {}

    def module(path: str) -> KnowledgeModule:
        parent = None
        for depth, name in enumerate(p.strip() for p in path.split(">")):
            key = " > ".join(p.strip() for p in path.split(">")[: depth + 1])
            if key not in modules:
                row = KnowledgeModule(
                    tenant_id=tenant_id,
                    name=name,
                    parent_id=parent.id if parent else None,
                    sort=len(modules),
                )
                session.add(row)
                session.flush()
                modules[key] = row
            parent = modules[key]
        assert parent is not None
        return parent

    settings = KnowledgeSettings(
        tenant_id=tenant_id,
        words=list(DEMO_WORDS),
        synonyms=[list(g) for g in DEMO_SYNONYMS],
        bot_threshold=0.6,
        revision=0,
        dictionary_revision=1,
    )
    session.add(settings)
    for number, item in enumerate(DEMO_ARTICLES, start=1):
        row = Article(
            tenant_id=tenant_id,
            module_id=module(item.module).id,
            title=item.title,
            body=item.body,
            internal_notes="",
            questions=list(item.questions),
            tags=list(item.tags),
            synonyms=[],
            attachments=[],
            audience_roles=[],
            audience_sites=[],
            valid_from=now - timedelta(days=1) if item.days_valid else None,
            valid_until=now + timedelta(days=item.days_valid) if item.days_valid else None,
            status="published",
            version=1,
            index_seq=number,
            review_note="",
            source="demo",
            created_by=editor_id,
            updated_by=editor_id,
            reviewed_by=editor_id,
            created_at=now,
            updated_at=now,
            published_at=now,
            helpful=0,
            not_helpful=0,
        )
        session.add(row)
        session.flush()
        session.add(
            ArticleVersion(
                tenant_id=tenant_id,
                article_id=row.id,
                version=1,
                status="published",
                snapshot={
                    "title": item.title,
                    "body": item.body,
                    "questions": list(item.questions),
                },
                author_id=editor_id,
                note="demo",
                created_at=now,
            )
        )
    settings.revision = len(DEMO_ARTICLES)
    for importance, title, body in DEMO_ANNOUNCEMENTS:
        session.add(
            Announcement(
                tenant_id=tenant_id,
                title=title,
                body=body,
                importance=importance,
                audience_roles=["agent", "team_leader"] if importance != "normal" else [],
                audience_sites=[],
                audience_teams=[],
                valid_from=now - timedelta(hours=1),
                valid_until=now + timedelta(days=7),
                created_by=editor_id,
                created_at=now,
                withdrawn=False,
            )
        )
    session.flush()
    # Encode the demo's vectors now (a few seconds with e5): the server that seeds also loads
    # jieba and the model here, so the first search answers at once.
    from kefu.knowledge.index import warm_vectors

    articles = list(session.scalars(select(Article).where(Article.tenant_id == tenant_id)))
    warm_vectors(session, tenant_id, articles)
    return len(DEMO_ARTICLES)
